package memory

import (
	"runtime"
	"testing"
)

func TestReadSeesAllocation(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("memory readings are implemented for Linux only")
	}
	before, err := Read()
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64<<20)
	for i := range buf {
		buf[i] = byte(i)
	}
	after, err := Read()
	if err != nil {
		t.Fatal(err)
	}
	if after.RSS < before.RSS+48<<20 {
		t.Errorf("RSS grew %d MB after touching 64 MB", (after.RSS-before.RSS)>>20)
	}
	if after.PeakRSS < after.RSS || after.Total == 0 || after.Available == 0 || after.Available > after.Total {
		t.Errorf("implausible sample %+v", after)
	}
	runtime.KeepAlive(buf)
}
