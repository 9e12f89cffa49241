package assets_test

import (
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"os"
	"slices"
	"testing"

	"dermal/internal/assets"
)

type card struct {
	File   string `json:"file"`
	SHA256 string `json:"sha256"`
	Split  struct {
		Counts  map[string]map[string]int `json:"counts"`
		Sources []string                  `json:"sources"`
	} `json:"split"`
	OOD struct {
		SHA256 string `json:"sha256"`
	} `json:"ood"`
}

func readCard(t *testing.T) card {
	var c card
	if err := json.Unmarshal(assets.ModelCardJSON, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

func sum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func TestModelFileMatchesCard(t *testing.T) {
	c := readCard(t)
	onDisk, err := os.ReadFile(c.File)
	if err != nil {
		t.Fatal(err)
	}
	if got := sum(onDisk); got != c.SHA256 {
		t.Errorf("%s has sha256 %s, the card says %s", c.File, got, c.SHA256)
	}
	if got := sum(assets.ModelONNX); got != c.SHA256 {
		t.Errorf("embedded model has sha256 %s, the card says %s", got, c.SHA256)
	}
	if got := sum(assets.OODSubspace); got != c.OOD.SHA256 {
		t.Errorf("embedded OOD subspace has sha256 %s, the card says %s", got, c.OOD.SHA256)
	}
	if len(onDisk) > 4<<20 {
		t.Errorf("model is %d bytes, over the 4 MB budget", len(onDisk))
	}
}

// TestSplitKeepsLesionsWhole checks the committed split: no lesion in two splits, and the
// card's per-split class counts are the file's.
func TestSplitKeepsLesionsWhole(t *testing.T) {
	f, err := os.Open("../../training/split.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) < 2 || rows[0][0] != "image_id" || rows[0][1] != "lesion_id" || rows[0][2] != "dx" || rows[0][3] != "split" {
		t.Fatalf("unexpected header %v", rows[0])
	}
	where := map[string]string{}
	counts := map[string]map[string]int{}
	images := map[string]bool{}
	// The split holds every training photo (HAM10000 and the ISIC folders); the card counts
	// the photos of the sources it names (model 4: all twelve), by the label column (the
	// diagnosis, or "benign" for a photo known only as benign).
	labelCol, sourceCol := slices.Index(rows[0], "label"), slices.Index(rows[0], "source")
	c := readCard(t)
	if len(c.Split.Sources) == 0 || sourceCol < 0 || labelCol < 0 {
		t.Fatalf("the card names no sources (%v) or the split lacks source and label columns", c.Split.Sources)
	}
	for _, r := range rows[1:] {
		img, lesion, split, dx := r[0], r[1], r[3], r[labelCol]
		if !slices.Contains(c.Split.Sources, r[sourceCol]) {
			images[img] = true
			continue
		}
		if images[img] {
			t.Errorf("image %s listed twice", img)
		}
		images[img] = true
		if s, ok := where[lesion]; ok && s != split {
			t.Errorf("lesion %s is in both %s and %s", lesion, s, split)
		}
		where[lesion] = split
		if counts[split] == nil {
			counts[split] = map[string]int{}
		}
		counts[split][dx]++
	}
	// HAM10000's 10,015, the ISIC Archive folder's 2,140 and the acral folder's 1,802.
	if len(images) != 13957 {
		t.Errorf("%d images, the three training folders hold 13957", len(images))
	}
	for split, byClass := range c.Split.Counts {
		for dx, n := range byClass {
			if counts[split][dx] != n {
				t.Errorf("%s/%s: file has %d, card says %d", split, dx, counts[split][dx], n)
			}
		}
	}
}
