package inference

import (
	"errors"
	"fmt"
	"image"
	"sync"
	"time"

	ort "github.com/yalue/onnxruntime_go"
)

// Model is a model card and its ONNX graph, either as bytes (the embedded model) or as a file
// path (needed for graphs whose weights live in external files, like the fp32 test model).
type Model struct {
	Card Card
	Data []byte
	Path string
	OOD  *Subspace
	// pendingOOD is the subspace not read yet, with the checksums not checked
	// (LoadModelDeferred): the engine does both before it first loads the model.
	pendingOOD []byte
}

// Options configure the engine.
type Options struct {
	// LibraryPath is an explicit ONNX Runtime library path; empty means FindLibrary's search.
	LibraryPath string
	// Threads is the number of intra-op threads; 0 means 1, which keeps a low-end laptop's
	// other core free for the interface and costs little on a model this small.
	Threads int
}

var (
	envMu      sync.Mutex
	envLibrary string
	// envUsers counts the engines that hold the environment (a loaded model, or one being
	// loaded) and RuntimeInfo's callers: the library is unloaded when the last lets go.
	envUsers int
)

// ensureEnvironment loads the ONNX Runtime library if it is not loaded.
func ensureEnvironment(explicit string) error {
	envMu.Lock()
	defer envMu.Unlock()
	return initEnvironment(explicit)
}

func initEnvironment(explicit string) error {
	if ort.IsInitialized() {
		return nil
	}
	path, err := FindLibrary(explicit)
	if err != nil {
		return err
	}
	ort.SetSharedLibraryPath(path)
	if err := ort.InitializeEnvironment(ort.WithLogLevelError()); err != nil {
		return fmt.Errorf("loading ONNX Runtime from %s: %w", path, err)
	}
	envLibrary = path
	return nil
}

// acquireEnvironment loads the library if needed and holds it until releaseEnvironment.
func acquireEnvironment(explicit string) error {
	envMu.Lock()
	defer envMu.Unlock()
	if err := initEnvironment(explicit); err != nil {
		return err
	}
	envUsers++
	return nil
}

// releaseEnvironment lets go of the library; the last engine to let go unloads it. ONNX
// Runtime's code stayed mapped after the idle unload (18 MB of the window's resident memory
// at rest), for a model that may not run again that day; loading it again takes ~0.1 s.
func releaseEnvironment() error {
	envMu.Lock()
	defer envMu.Unlock()
	envUsers--
	if envUsers > 0 || !ort.IsInitialized() {
		return nil
	}
	envLibrary = ""
	return ort.DestroyEnvironment()
}

// RuntimeInfo reports the loaded ONNX Runtime library and its version (for `dermal doctor`).
func RuntimeInfo(explicit string) (path, version string, err error) {
	if _, err := FindLibrary(explicit); err != nil {
		return "", "", err
	}
	if err := ensureEnvironment(explicit); err != nil {
		return "", "", err
	}
	return envLibrary, ort.GetVersion(), nil
}

// Raw is what one run of the graph produced, copied out of ONNX Runtime's buffers.
type Raw struct {
	Logits    []float32
	CAM       []float32 // classes x CAMHeight x CAMWidth, before ReLU
	CAMWidth  int
	CAMHeight int
	Embedding []float32
}

// ClassCAM returns the raw class activation map of class c (row-major CAMHeight x CAMWidth).
func (r *Raw) ClassCAM(c int) []float32 {
	n := r.CAMWidth * r.CAMHeight
	return r.CAM[c*n : (c+1)*n]
}

// Engine owns the process's one ONNX Runtime session. It is created lazily on first use,
// reused for every photo (the input and output tensors are allocated once with it), and can
// be unloaded to give memory back while the app sits idle. Safe for concurrent use; runs are
// serialized, which is also the memory policy: one analysis at a time.
//
// Every call into ONNX Runtime happens on the engine's own OS thread while a session is
// loaded, which ends at the unload (ortThread says why); callers may run it from any goroutine.
type Engine struct {
	mu      sync.Mutex
	model   Model
	opts    Options
	thread  *ortThread // started by the first load after an unload (nil: none since); ended by Unload
	session *ort.AdvancedSession
	tensors []*ort.Tensor[float32] // input, logits, cam, embedding
	camW    int
	camH    int
	embDim  int
	lastRun time.Time
	// holdsEnv: the engine holds the ONNX Runtime environment (acquireEnvironment).
	holdsEnv bool
}

// NewEngine returns an engine for the model; nothing is loaded until the first run.
func NewEngine(m Model, o Options) *Engine {
	if o.Threads <= 0 {
		o.Threads = 1
	}
	return &Engine{model: m, opts: o}
}

// Card returns the engine's model card.
func (e *Engine) Card() Card { return e.model.Card }

// Loaded reports whether the session is in memory.
func (e *Engine) Loaded() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.session != nil
}

// LastRun is when the model last ran (zero if never).
func (e *Engine) LastRun() time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.lastRun
}

// Load creates the session if it is not there yet.
func (e *Engine) Load() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.load()
}

func (e *Engine) load() (err error) {
	if e.session != nil {
		return nil
	}
	if err := e.model.finish(); err != nil {
		return err
	}
	if e.thread == nil {
		e.thread = startORTThread()
	}
	e.thread.do(func() { err = e.loadSession() })
	return err
}

// loadSession loads the library (if no engine holds it) and creates the session: on the
// engine's thread.
func (e *Engine) loadSession() (err error) {
	if !e.holdsEnv {
		if err := acquireEnvironment(e.opts.LibraryPath); err != nil {
			return err
		}
		e.holdsEnv = true
	}
	card := e.model.Card
	var outs []ort.InputOutputInfo
	if e.model.Path != "" {
		_, outs, err = ort.GetInputOutputInfo(e.model.Path)
	} else {
		_, outs, err = ort.GetInputOutputInfoWithONNXData(e.model.Data)
	}
	if err != nil {
		return fmt.Errorf("reading the model %s: %w", card.Name, err)
	}
	k := len(card.Labels)
	for _, o := range outs {
		d := o.Dimensions
		switch o.Name {
		case card.Outputs.CAM:
			if len(d) != 4 || d[1] != int64(k) || d[2] <= 0 || d[3] <= 0 {
				return fmt.Errorf("model output %s has shape %v, want [N %d h w]", o.Name, d, k)
			}
			e.camH, e.camW = int(d[2]), int(d[3])
		case card.Outputs.Embedding:
			if len(d) != 2 || d[1] <= 0 {
				return fmt.Errorf("model output %s has shape %v, want [N dim]", o.Name, d)
			}
			e.embDim = int(d[1])
		}
	}
	if e.camW == 0 || e.embDim == 0 {
		return fmt.Errorf("model %s lacks the outputs %s and %s named in its card", card.Name, card.Outputs.CAM, card.Outputs.Embedding)
	}
	shapes := []ort.Shape{
		ort.NewShape(1, 3, int64(card.Input.Height), int64(card.Input.Width)),
		ort.NewShape(1, int64(k)),
		ort.NewShape(1, int64(k), int64(e.camH), int64(e.camW)),
		ort.NewShape(1, int64(e.embDim)),
	}
	defer func() {
		if err != nil {
			err = errors.Join(err, e.destroy())
		}
	}()
	for _, s := range shapes {
		t, err := ort.NewEmptyTensor[float32](s)
		if err != nil {
			return fmt.Errorf("allocating tensor %v: %w", s, err)
		}
		e.tensors = append(e.tensors, t)
	}
	so, err := ort.NewSessionOptions()
	if err != nil {
		return err
	}
	defer so.Destroy()
	// The arena keeps freed buffers for reuse and never returns them; on a low-RAM laptop the
	// few microseconds it saves are not worth the resident memory.
	if err := so.SetCpuMemArena(false); err != nil {
		return err
	}
	// On x86-64 CPUs without VNNI (most clinic laptops: AVX2 only), ONNX Runtime's default
	// u8×s8 kernels add pairs of 8-bit products in 16 bits (vpmaddubsw), which saturates
	// (255·127·2 > 32767) and moved logits by 0.18 on an AVX2 CPU. This option has ONNX Runtime
	// shift the weights to u8 and use its u8×u8 kernels there, whose pairs are summed in 32
	// bits: the integer sums are then exact, as they are on VNNI CPUs, so the two kernel paths
	// give the same result. VNNI CPUs ignore it.
	if err := so.AddSessionConfigEntry("session.x64quantprecision", "1"); err != nil {
		return err
	}
	if err := so.SetIntraOpNumThreads(e.opts.Threads); err != nil {
		return err
	}
	if err := so.SetInterOpNumThreads(1); err != nil {
		return err
	}
	in := []ort.Value{e.tensors[0]}
	out := []ort.Value{e.tensors[1], e.tensors[2], e.tensors[3]}
	names := []string{card.Outputs.Logits, card.Outputs.CAM, card.Outputs.Embedding}
	if e.model.Path != "" {
		e.session, err = ort.NewAdvancedSession(e.model.Path, []string{card.Input.Name}, names, in, out, so)
	} else {
		e.session, err = ort.NewAdvancedSessionWithONNXData(e.model.Data, []string{card.Input.Name}, names, in, out, so)
	}
	if err != nil {
		return fmt.Errorf("starting the model %s: %w", card.Name, err)
	}
	return nil
}

// destroy releases the session and tensors, joining every error (nothing is leaked on a
// partial failure).
func (e *Engine) destroy() error {
	var errs []error
	if e.session != nil {
		errs = append(errs, e.session.Destroy())
		e.session = nil
	}
	for _, t := range e.tensors {
		errs = append(errs, t.Destroy())
	}
	e.tensors = nil
	return errors.Join(errs...)
}

// Unload frees the session, ends the engine's thread, lets go of the library and gives the
// memory back to the OS; the next run loads it again.
func (e *Engine) Unload() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	loaded := e.session != nil
	var err error
	if e.thread != nil {
		e.thread.do(func() { err = e.destroy() })
		// Before the library is let go: the thread's end runs the destructors ONNX Runtime
		// registered on it, and only then can the library be unmapped.
		e.thread.stop()
		e.thread = nil
	}
	if e.holdsEnv {
		e.holdsEnv = false
		err = errors.Join(err, releaseEnvironment())
	}
	if loaded {
		trimCHeap()
	}
	return err
}

// Close is Unload; the engine stays usable.
func (e *Engine) Close() error { return e.Unload() }

// Run feeds one canonical picture (card input size) through the graph.
func (e *Engine) Run(img *image.NRGBA) (*Raw, error) {
	card := e.model.Card
	if img.Rect.Dx() != card.Input.Width || img.Rect.Dy() != card.Input.Height {
		return nil, fmt.Errorf("picture is %dx%d, the model takes %dx%d", img.Rect.Dx(), img.Rect.Dy(), card.Input.Width, card.Input.Height)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.load(); err != nil {
		return nil, err
	}
	gain, err := colourGains(pixels(img), card.Input.ColourConstancy)
	if err != nil {
		return nil, err
	}
	fillInput(e.tensors[0].GetData(), img, card.Input.Mean, card.Input.Std, gain)
	e.thread.do(func() { err = e.session.Run() })
	if err != nil {
		return nil, fmt.Errorf("running the model: %w", err)
	}
	e.lastRun = time.Now()
	return &Raw{
		Logits:    append([]float32(nil), e.tensors[1].GetData()...),
		CAM:       append([]float32(nil), e.tensors[2].GetData()...),
		CAMWidth:  e.camW,
		CAMHeight: e.camH,
		Embedding: append([]float32(nil), e.tensors[3].GetData()...),
	}, nil
}
