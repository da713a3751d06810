// Package carry moves large computed attributes of a resource around the
// plugin framework.
//
// The framework visits every value of every state it decodes or encodes,
// several times per request, with schema lookups at each value. For a
// computed attribute holding one object per replica, that work grows with
// the replica count and made a 100-replica plan spend most of its provider
// time walking values the resource only copies. The server Wrap returns
// takes those attributes out of the states of a request before the framework
// decodes them, and puts them back into the states of the response: the
// resource reads them with Taken and returns them with Hand, through the
// request's context, while the framework only ever sees null.
package carry

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

// Source names the request state a carried value was taken from.
type Source int

const (
	// Prior is the state before the request: the current state of a read,
	// the prior state of a plan or apply, the raw state of an upgrade.
	Prior Source = iota
	// Planned is the planned state of an apply.
	Planned
)

// Taken returns the value of a carried attribute as the request's state
// held it. ok is false when the request came through no carrying server,
// or its state had no value: the framework then saw the attribute itself.
func Taken(ctx context.Context, from Source, name string) (value tftypes.Value, ok bool) {
	c := carrierFrom(ctx)
	if c == nil {
		return tftypes.Value{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	value, ok = c.taken[from][name]
	return value, ok
}

// Active reports whether the request came through a carrying server. When
// it did not, the framework holds the attributes and Hand does nothing.
func Active(ctx context.Context) bool {
	return carrierFrom(ctx) != nil
}

// Hand sets the value a carried attribute has in the response's state.
func Hand(ctx context.Context, name string, value tftypes.Value) {
	c := carrierFrom(ctx)
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.handed[name] = value
}

type contextKey struct{}

// carrier holds one request's carried values.
type carrier struct {
	mu     sync.Mutex
	taken  map[Source]map[string]tftypes.Value
	handed map[string]tftypes.Value
}

func newCarrier() *carrier {
	return &carrier{taken: map[Source]map[string]tftypes.Value{}, handed: map[string]tftypes.Value{}}
}

func carrierFrom(ctx context.Context) *carrier {
	c, _ := ctx.Value(contextKey{}).(*carrier)
	return c
}

// Wrap returns a server that carries the named attributes of resourceType
// around inner. The attributes must be computed only, so configurations
// never set them. The provider must have no list resources, actions or
// state stores: the wrapper serves only the core provider interface.
func Wrap(ctx context.Context, inner tfprotov6.ProviderServer, resourceType string, attributes ...string) (tfprotov6.ProviderServer, error) {
	s := &server{ProviderServer: inner, resourceType: resourceType, attributes: attributes}
	if err := s.readSchema(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

type server struct {
	tfprotov6.ProviderServer
	resourceType string
	attributes   []string

	typ     tftypes.Object
	types   map[string]tftypes.Type
	version int64
}

// readSchema reads the resource's state type and version from inner.
func (s *server) readSchema(ctx context.Context) error {
	resp, err := s.GetProviderSchema(ctx, &tfprotov6.GetProviderSchemaRequest{})
	if err != nil {
		return err
	}
	for _, d := range resp.Diagnostics {
		if d.Severity == tfprotov6.DiagnosticSeverityError {
			return fmt.Errorf("carry: the provider schema: %s: %s", d.Summary, d.Detail)
		}
	}
	schema, found := resp.ResourceSchemas[s.resourceType]
	if !found {
		return fmt.Errorf("carry: the provider has no resource type %q", s.resourceType)
	}
	typ, isObject := schema.ValueType().(tftypes.Object)
	if !isObject {
		return fmt.Errorf("carry: resource type %q has no object state", s.resourceType)
	}
	s.typ, s.types, s.version = typ, map[string]tftypes.Type{}, schema.Version
	for _, name := range s.attributes {
		t, found := typ.AttributeTypes[name]
		if !found {
			return fmt.Errorf("carry: resource type %q has no attribute %q", s.resourceType, name)
		}
		s.types[name] = t
	}
	return nil
}

// carrying returns a context holding a new carrier for requests of the
// carried resource type, and nil for others.
func (s *server) carrying(ctx context.Context, typeName string) (context.Context, *carrier) {
	if typeName != s.resourceType {
		return ctx, nil
	}
	c := newCarrier()
	return context.WithValue(ctx, contextKey{}, c), c
}

func (s *server) ReadResource(ctx context.Context, req *tfprotov6.ReadResourceRequest) (*tfprotov6.ReadResourceResponse, error) {
	return serve(ctx, s, req.TypeName, req, s.ProviderServer.ReadResource,
		func(r *tfprotov6.ReadResourceRequest, c *carrier) (err error) {
			r.CurrentState, err = s.take(r.CurrentState, c, Prior)
			return err
		},
		func(resp *tfprotov6.ReadResourceResponse, c *carrier) {
			resp.NewState = s.put(resp.NewState, c, &resp.Diagnostics)
		})
}

func (s *server) PlanResourceChange(ctx context.Context, req *tfprotov6.PlanResourceChangeRequest) (*tfprotov6.PlanResourceChangeResponse, error) {
	return serve(ctx, s, req.TypeName, req, s.ProviderServer.PlanResourceChange,
		func(r *tfprotov6.PlanResourceChangeRequest, c *carrier) (err error) {
			if r.PriorState, err = s.take(r.PriorState, c, Prior); err != nil {
				return err
			}
			// The proposed state copies the prior values of computed
			// attributes; it is taken only so the framework sees the same
			// null in both.
			r.ProposedNewState, err = s.take(r.ProposedNewState, nil, Prior)
			return err
		},
		func(resp *tfprotov6.PlanResourceChangeResponse, c *carrier) {
			resp.PlannedState = s.put(resp.PlannedState, c, &resp.Diagnostics)
		})
}

func (s *server) ApplyResourceChange(ctx context.Context, req *tfprotov6.ApplyResourceChangeRequest) (*tfprotov6.ApplyResourceChangeResponse, error) {
	return serve(ctx, s, req.TypeName, req, s.ProviderServer.ApplyResourceChange,
		func(r *tfprotov6.ApplyResourceChangeRequest, c *carrier) (err error) {
			if r.PriorState, err = s.take(r.PriorState, c, Prior); err != nil {
				return err
			}
			r.PlannedState, err = s.take(r.PlannedState, c, Planned)
			return err
		},
		func(resp *tfprotov6.ApplyResourceChangeResponse, c *carrier) {
			resp.NewState = s.put(resp.NewState, c, &resp.Diagnostics)
		})
}

func (s *server) ImportResourceState(ctx context.Context, req *tfprotov6.ImportResourceStateRequest) (*tfprotov6.ImportResourceStateResponse, error) {
	return serve(ctx, s, req.TypeName, req, s.ProviderServer.ImportResourceState,
		func(*tfprotov6.ImportResourceStateRequest, *carrier) error { return nil },
		func(resp *tfprotov6.ImportResourceStateResponse, c *carrier) {
			for _, imported := range resp.ImportedResources {
				if imported != nil && imported.TypeName == s.resourceType {
					imported.State = s.put(imported.State, c, &resp.Diagnostics)
				}
			}
		})
}

// UpgradeResourceState carries the attributes around the framework's
// decoding of the stored JSON, for states of the current schema version
// only: those of older versions go to the resource's upgraders whole.
func (s *server) UpgradeResourceState(ctx context.Context, req *tfprotov6.UpgradeResourceStateRequest) (*tfprotov6.UpgradeResourceStateResponse, error) {
	return serve(ctx, s, req.TypeName, req, s.ProviderServer.UpgradeResourceState,
		func(r *tfprotov6.UpgradeResourceStateRequest, c *carrier) error {
			if r.RawState == nil || len(r.RawState.JSON) == 0 || r.Version != s.version {
				return nil
			}
			raw, err := s.takeJSON(r.RawState.JSON, c)
			r.RawState = &tfprotov6.RawState{JSON: raw, Flatmap: r.RawState.Flatmap}
			return err
		},
		func(resp *tfprotov6.UpgradeResourceStateResponse, c *carrier) {
			resp.UpgradedState = s.put(resp.UpgradedState, c, &resp.Diagnostics)
		})
}

// serve runs one request. For a carried resource type, take adjusts a copy
// of the request before inner serves it, and put finishes the response.
// A request whose states cannot be taken apart is served uncarried: the
// framework then decodes the attributes itself, with its own conversions
// and diagnostics, and the resource reads them from the framework.
func serve[Req, Resp any](ctx context.Context, s *server, typeName string, req *Req,
	inner func(context.Context, *Req) (*Resp, error),
	take func(*Req, *carrier) error,
	put func(*Resp, *carrier),
) (*Resp, error) {
	carried, c := s.carrying(ctx, typeName)
	if c == nil {
		return inner(ctx, req)
	}
	r := *req
	if err := take(&r, c); err != nil {
		return inner(ctx, req)
	}
	resp, err := inner(carried, &r)
	if err != nil || resp == nil {
		return resp, err
	}
	put(resp, c)
	return resp, nil
}

// take replaces the carried attributes of a state by null, recording their
// values in c under from (when c is not nil).
func (s *server) take(state *tfprotov6.DynamicValue, c *carrier, from Source) (*tfprotov6.DynamicValue, error) {
	attrs, err := s.decode(state)
	if attrs == nil || err != nil {
		return state, err
	}
	taken := map[string]tftypes.Value{}
	for _, name := range s.attributes {
		if v := attrs[name]; !v.IsNull() {
			taken[name] = v
			attrs[name] = tftypes.NewValue(s.types[name], nil)
		}
	}
	if c != nil {
		c.mu.Lock()
		c.taken[from] = taken
		c.mu.Unlock()
	}
	if len(taken) == 0 {
		return state, nil
	}
	return s.encode(attrs)
}

// put sets the carried attributes of a response state: to the values the
// resource handed, else, where the framework left them null, to the values
// taken from the request's prior state. A value the framework made unknown
// (known after apply) stays unknown unless the resource handed one. On a
// failure it adds an error to diags and leaves the state as it is.
func (s *server) put(state *tfprotov6.DynamicValue, c *carrier, diags *[]*tfprotov6.Diagnostic) *tfprotov6.DynamicValue {
	out, err := s.putValues(state, c)
	if err != nil {
		*diags = append(*diags, &tfprotov6.Diagnostic{
			Severity: tfprotov6.DiagnosticSeverityError,
			Summary:  "Provider error",
			Detail:   fmt.Sprintf("Could not return %s state: %v. This is a bug in the provider; a refresh records the resource again.", s.resourceType, err),
		})
		return state
	}
	return out
}

func (s *server) putValues(state *tfprotov6.DynamicValue, c *carrier) (*tfprotov6.DynamicValue, error) {
	attrs, err := s.decode(state)
	if attrs == nil || err != nil {
		return state, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	changed := false
	for _, name := range s.attributes {
		if v, handed := c.handed[name]; handed {
			if !v.Type().Equal(s.types[name]) {
				return nil, fmt.Errorf("attribute %s was handed as %s, want %s", name, v.Type(), s.types[name])
			}
			attrs[name], changed = v, true
			continue
		}
		if v, found := c.taken[Prior][name]; found && attrs[name].IsNull() {
			attrs[name], changed = v, true
		}
	}
	if !changed {
		return state, nil
	}
	return s.encode(attrs)
}

// takeJSON is take for a stored JSON state.
func (s *server) takeJSON(raw []byte, c *carrier) ([]byte, error) {
	var attrs map[string]json.RawMessage
	if err := json.Unmarshal(raw, &attrs); err != nil || attrs == nil {
		return raw, nil //nolint:nilerr // not an object: the framework reports it
	}
	taken := map[string]tftypes.Value{}
	for _, name := range s.attributes {
		value, found := attrs[name]
		if !found || string(value) == "null" {
			continue
		}
		v, err := valueFromJSON(s.types[name], value)
		if err != nil {
			return nil, fmt.Errorf("carry: decode stored %s.%s: %w", s.resourceType, name, err)
		}
		taken[name] = v
		attrs[name] = json.RawMessage("null")
	}
	c.mu.Lock()
	c.taken[Prior] = taken
	c.mu.Unlock()
	if len(taken) == 0 {
		return raw, nil
	}
	return json.Marshal(attrs)
}

// decode returns the attributes of a state, or nil for a missing, null or
// unknown state.
func (s *server) decode(state *tfprotov6.DynamicValue) (map[string]tftypes.Value, error) {
	if state == nil {
		return nil, nil
	}
	v, err := state.Unmarshal(s.typ)
	if err != nil {
		return nil, fmt.Errorf("carry: decode %s state: %w", s.resourceType, err)
	}
	if v.IsNull() || !v.IsKnown() {
		return nil, nil
	}
	var attrs map[string]tftypes.Value
	if err := v.As(&attrs); err != nil {
		return nil, fmt.Errorf("carry: decode %s state: %w", s.resourceType, err)
	}
	return attrs, nil
}

func (s *server) encode(attrs map[string]tftypes.Value) (*tfprotov6.DynamicValue, error) {
	v := tftypes.NewValue(s.typ, attrs)
	dv, err := tfprotov6.NewDynamicValue(s.typ, v)
	if err != nil {
		return nil, fmt.Errorf("carry: encode %s state: %w", s.resourceType, err)
	}
	return &dv, nil
}
