package carry

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/big"

	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

// valueFromJSON decodes a stored JSON value as typ, like
// tfprotov6.RawState.Unmarshal, but decodes the JSON once: that decoder re-reads
// the rest of the buffer for every nested value, which made decoding a
// stored 100-replica instances list take longer than the upgrade it was
// carried around.
func valueFromJSON(typ tftypes.Type, raw []byte) (tftypes.Value, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var decoded any
	if err := dec.Decode(&decoded); err != nil {
		return tftypes.Value{}, err
	}
	return valueOf(typ, decoded, tftypes.NewAttributePath())
}

func valueOf(typ tftypes.Type, v any, at *tftypes.AttributePath) (tftypes.Value, error) {
	if v == nil {
		return tftypes.NewValue(typ, nil), nil
	}
	mismatch := func() (tftypes.Value, error) {
		return tftypes.Value{}, at.NewErrorf("want %s, found JSON %T", typ, v)
	}
	switch t := typ.(type) {
	case tftypes.List, tftypes.Set:
		items, isArray := v.([]any)
		if !isArray {
			return mismatch()
		}
		elem := elementType(t)
		values := make([]tftypes.Value, len(items))
		for i, item := range items {
			value, err := valueOf(elem, item, at.WithElementKeyInt(i))
			if err != nil {
				return tftypes.Value{}, err
			}
			values[i] = value
		}
		return tftypes.NewValue(typ, values), nil
	case tftypes.Map:
		entries, isObject := v.(map[string]any)
		if !isObject {
			return mismatch()
		}
		values := make(map[string]tftypes.Value, len(entries))
		for key, entry := range entries {
			value, err := valueOf(t.ElementType, entry, at.WithElementKeyString(key))
			if err != nil {
				return tftypes.Value{}, err
			}
			values[key] = value
		}
		return tftypes.NewValue(typ, values), nil
	case tftypes.Object:
		entries, isObject := v.(map[string]any)
		if !isObject {
			return mismatch()
		}
		// Stored attributes the type no longer has are dropped, as the
		// framework drops them when it upgrades a state.
		values := make(map[string]tftypes.Value, len(t.AttributeTypes))
		for name, attrType := range t.AttributeTypes {
			value, err := valueOf(attrType, entries[name], at.WithAttributeName(name))
			if err != nil {
				return tftypes.Value{}, err
			}
			values[name] = value
		}
		return tftypes.NewValue(typ, values), nil
	}
	switch {
	case typ.Is(tftypes.String):
		if s, isString := v.(string); isString {
			return tftypes.NewValue(typ, s), nil
		}
	case typ.Is(tftypes.Number):
		if n, isNumber := v.(json.Number); isNumber {
			f, _, err := big.ParseFloat(string(n), 10, 512, big.ToNearestEven)
			if err != nil {
				return tftypes.Value{}, at.NewErrorf("number %s: %w", n, err)
			}
			return tftypes.NewValue(typ, f), nil
		}
	case typ.Is(tftypes.Bool):
		if b, isBool := v.(bool); isBool {
			return tftypes.NewValue(typ, b), nil
		}
	default:
		// Tuples and dynamic values are rare in state; tftypes knows them.
		raw, err := json.Marshal(v)
		if err != nil {
			return tftypes.Value{}, at.NewError(fmt.Errorf("re-encode: %w", err))
		}
		return tfprotov6.RawState{JSON: raw}.Unmarshal(typ)
	}
	return mismatch()
}

func elementType(t tftypes.Type) tftypes.Type {
	if set, isSet := t.(tftypes.Set); isSet {
		return set.ElementType
	}
	return t.(tftypes.List).ElementType
}
