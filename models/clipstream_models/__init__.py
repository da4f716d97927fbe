"""ClipStream's model pipeline: export CLIP towers to ONNX, verify, quantize, benchmark, train the test model."""
