package docker

import (
	"archive/tar"
	"bytes"
	"testing"
)

func TestFirstEntry(t *testing.T) {
	archive := func(hdr *tar.Header, content string) *bytes.Buffer {
		var buf bytes.Buffer
		tw := tar.NewWriter(&buf)
		if hdr != nil {
			hdr.Size = int64(len(content))
			_ = tw.WriteHeader(hdr)
			_, _ = tw.Write([]byte(content))
		}
		_ = tw.Close()
		return &buf
	}
	content, link, err := firstEntry(archive(&tar.Header{Name: "passwd", Typeflag: tar.TypeReg, Mode: 0o644}, "root:x:0:0::/:/bin/sh\n"))
	if err != nil || link != "" || string(content) != "root:x:0:0::/:/bin/sh\n" {
		t.Errorf("regular file: %q, %q, %v", content, link, err)
	}
	content, link, err = firstEntry(archive(&tar.Header{Name: "passwd", Typeflag: tar.TypeSymlink, Linkname: "../usr/lib/passwd"}, ""))
	if err != nil || link != "../usr/lib/passwd" || content != nil {
		t.Errorf("symbolic link: %q, %q, %v", content, link, err)
	}
	if _, _, err := firstEntry(archive(&tar.Header{Name: "passwd/", Typeflag: tar.TypeDir}, "")); err == nil {
		t.Errorf("a directory is no passwd file")
	}
	if content, _, err := firstEntry(archive(nil, "")); err != nil || content == nil || len(content) != 0 {
		t.Errorf("empty archive: %q, %v; want an empty file", content, err)
	}
}
