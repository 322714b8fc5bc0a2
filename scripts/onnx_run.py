"""Runs an ONNX model with onnxruntime on raw inputs (used by host/tests/onnx_export.rs).

    python scripts/onnx_run.py MODEL.onnx INPUTS.f32 N_INPUTS OUTPUTS.f32

The model must first pass the ONNX checker with shape inference (onnx.checker.check_model with
full_check). INPUTS.f32 holds samples x N_INPUTS little-endian float32 values, row-major; the
graph's single output is written to OUTPUTS.f32 the same way. Prints the runtime's version and the
output shape.
"""
import sys

import numpy as np
import onnx
import onnxruntime as ort


def main() -> None:
    model, inputs, n, outputs = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    onnx.checker.check_model(onnx.load(model), full_check=True)
    x = np.fromfile(inputs, dtype="<f4").reshape(-1, n)
    sess = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    (name,) = [i.name for i in sess.get_inputs()]
    (y,) = sess.run(None, {name: x})
    np.ascontiguousarray(y, dtype="<f4").tofile(outputs)
    print(f"onnxruntime {ort.__version__}: {x.shape} -> {y.shape}")


if __name__ == "__main__":
    main()
