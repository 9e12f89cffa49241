// Package inference turns a photo into a calibrated skin-lesion assessment.
//
// It owns everything between photo bytes and a result: the model card, safe image intake
// (size and pixel limits, EXIF orientation, decoder panics), preprocessing exactly as in
// training, the one long-lived ONNX Runtime session, temperature-scaled probabilities, the risk
// tier, Grad-CAM, and image-quality warnings. It never imports Fyne and never touches storage.
package inference
