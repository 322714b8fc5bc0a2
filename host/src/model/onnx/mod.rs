//! ONNX export of the deployed map: the exact update list that `lifted_core::infer` runs
//! (`Updates::deployed`: the init, K block-coordinate sweeps and, for the top-down schedule, the
//! tail), unrolled into standard ONNX operators (opset 13). The graph has one input `x`
//! [N, n₀] (float32, N symbolic) and one output `logits` [N, C]; docs/interop.md describes it.
//!
//! Every update becomes the operators of its f32 formula in `shared/src/infer.rs`, in the same
//! order of operations (each elementwise product and sum is one correctly rounded f32 operation in
//! both), so the only differences from `infer` come from the summation order inside the matrix
//! products of the runtime:
//! - `Forward(k)` / `Output`: z_k = f_k(Gemm(z_{k−1}, W_{k−1}, b_{k−1}, transB = 1));
//! - family-B `Hidden(k)`: z_k = f_k(a + ρ_k · (z_{k+1} W_k)) with a = the Gemm above;
//! - family-A `Hidden(k)`: d = z_{k+1} − f_{k+1}(Gemm(z_k, W_k, b_k)), c = d W_k,
//!   z_k = f_k(z_k + η_k · ((a − z_k) + ρ_k · c)).
//!
//! f_k is nothing for the identity, `Relu`, or `Clip(0, h)` for the clipped ReLU. Zero init
//! builds exact zeros of shape [N, n_k] from `x` (0 · x₀ + 0). What the graph does not do: the
//! input checks of `infer` (length, finiteness, the declared range) and its overflow error.
//!
//! The protobuf messages are in [`proto`]: the subset of `onnx/onnx.proto` (ONNX project,
//! Apache-2.0) that the export writes, declared with `prost`'s derive macros.

use std::fs;
use std::path::Path;

use anyhow::{ensure, Context, Result};
use lifted_core::schedule::{Update, Updates};
use lifted_core::{Activation, Family, Init, ModelView};
use prost::Message;

/// ONNX IR version written (IR 7 goes with opsets up to 13).
pub const IR_VERSION: i64 = 7;
/// Default-domain opset written.
pub const OPSET: i64 = 13;
/// Name of the graph input.
pub const INPUT: &str = "x";
/// Name of the graph output.
pub const OUTPUT: &str = "logits";

pub mod proto;

use proto::{
    AttributeProto, Dimension, GraphProto, ModelProto, NodeProto, OperatorSetIdProto, TensorProto,
    TensorShapeProto, TensorTypeProto, TypeProto, ValueInfoProto,
};

const FLOAT: i32 = 1;
const INT64: i32 = 7;

/// Builds the graph node by node, naming every intermediate tensor uniquely.
struct Builder {
    nodes: Vec<NodeProto>,
    init: Vec<TensorProto>,
    next: usize,
}

impl Builder {
    fn fresh(&mut self, stem: &str) -> String {
        self.next += 1;
        format!("{stem}_{}", self.next)
    }

    fn node(
        &mut self,
        op: &str,
        inputs: &[&str],
        attrs: Vec<AttributeProto>,
        stem: &str,
    ) -> String {
        let out = self.fresh(stem);
        self.nodes.push(NodeProto {
            input: inputs.iter().map(|s| (*s).to_owned()).collect(),
            output: vec![out.clone()],
            name: format!("{op}_{}", self.next),
            op_type: op.to_owned(),
            attribute: attrs,
        });
        out
    }

    fn float_const(&mut self, name: String, dims: &[usize], data: Vec<f32>) -> String {
        self.init.push(TensorProto {
            dims: dims.iter().map(|&d| d as i64).collect(),
            data_type: FLOAT,
            float_data: data,
            int64_data: Vec::new(),
            name: name.clone(),
        });
        name
    }

    fn int_const(&mut self, name: &str, data: Vec<i64>) -> String {
        self.init.push(TensorProto {
            dims: vec![data.len() as i64],
            data_type: INT64,
            float_data: Vec::new(),
            int64_data: data,
            name: name.to_owned(),
        });
        name.to_owned()
    }

    /// A scalar float constant (one initializer per distinct use; they are few).
    fn scalar(&mut self, stem: &str, v: f32) -> String {
        let name = self.fresh(stem);
        self.float_const(name, &[], vec![v])
    }

    /// `Gemm(a, W, b, transB = 1)` = a Wᵀ + b for row-major W.
    fn affine(&mut self, a: &str, w: &str, b: &str) -> String {
        self.node("Gemm", &[a, w, b], vec![int_attr("transB", 1)], "gemm")
    }

    /// f(v) for the activation f.
    fn activate(&mut self, act: Activation, v: String, stem: &str) -> String {
        match act {
            Activation::Identity => v,
            Activation::Relu => self.node("Relu", &[&v], vec![], stem),
            Activation::ClippedRelu { bound } => {
                let lo = self.scalar("clip_lo", 0.0);
                let hi = self.scalar("clip_hi", bound);
                self.node("Clip", &[&v, &lo, &hi], vec![], stem)
            }
        }
    }
}

fn int_attr(name: &str, i: i64) -> AttributeProto {
    AttributeProto {
        name: name.to_owned(),
        f: 0.0,
        i,
        r#type: 2,
    }
}

fn value_info(name: &str, width: usize) -> ValueInfoProto {
    ValueInfoProto {
        name: name.to_owned(),
        r#type: Some(TypeProto {
            tensor_type: Some(TensorTypeProto {
                elem_type: FLOAT,
                shape: Some(TensorShapeProto {
                    dim: vec![
                        Dimension {
                            dim_value: None,
                            dim_param: Some("N".to_owned()),
                        },
                        Dimension {
                            dim_value: Some(width as i64),
                            dim_param: None,
                        },
                    ],
                }),
            }),
        }),
    }
}

/// The ONNX model of `model`'s deployed map (see the module docs).
///
/// # Errors
/// A model whose layer specs are missing (cannot happen for a blob that loaded).
pub fn to_onnx(model: &ModelView<'_>) -> Result<ModelProto> {
    let l = model.layers();
    let mut g = Builder {
        nodes: Vec::new(),
        init: Vec::new(),
        next: 0,
    };
    // W_k, b_k for k = 0 … L−1, as stored (row-major n_{k+1} × n_k).
    let mut w = Vec::with_capacity(l);
    let mut b = Vec::with_capacity(l);
    for k in 0..l {
        let (rows, cols) = (model.width(k + 1), model.width(k));
        ensure!(
            model.weights(k).len() == rows * cols && model.bias(k).len() == rows,
            "layer {} has inconsistent shapes",
            k + 1
        );
        w.push(g.float_const(format!("W{k}"), &[rows, cols], model.weights(k).to_vec()));
        b.push(g.float_const(format!("b{k}"), &[rows], model.bias(k).to_vec()));
    }
    let spec = |k: usize| {
        model
            .layer(k)
            .copied()
            .with_context(|| format!("layer {k} is missing"))
    };

    // state[k] = the tensor holding z_k (state[0] = x).
    let mut state: Vec<String> = vec![INPUT.to_owned(); l + 1];
    if model.init() == Init::Zero {
        // Exact +0 of shape [N, n_k]: 0 · x[:, 0:1] (a ±0 column) + zeros[1, n_k].
        let starts = g.int_const("slice_starts", vec![0]);
        let ends = g.int_const("slice_ends", vec![1]);
        let axes = g.int_const("slice_axes", vec![1]);
        let col = g.node("Slice", &[INPUT, &starts, &ends, &axes], vec![], "x_col");
        let zero = g.scalar("zero", 0.0);
        let zcol = g.node("Mul", &[&col, &zero], vec![], "zero_col");
        for (k, s) in state.iter_mut().enumerate().skip(1) {
            let n = model.width(k);
            let zeros = g.float_const(format!("zeros{k}"), &[1, n], vec![0.0; n]);
            *s = g.node("Add", &[&zcol, &zeros], vec![], &format!("z{k}_init"));
        }
    }

    let updates = Updates::deployed(
        l,
        model.family(),
        model.init(),
        model.sweeps(),
        model.schedule(),
    );
    for u in updates {
        let k = match u {
            Update::Forward(k) | Update::Hidden(k) => k,
            Update::Output => l,
        };
        let s = spec(k)?;
        let stem = format!("z{k}");
        let new = match u {
            Update::Forward(_) | Update::Output => {
                let pre = g.affine(&state[k - 1], &w[k - 1], &b[k - 1]);
                g.activate(s.activation, pre, &stem)
            }
            Update::Hidden(_) => {
                let a = g.affine(&state[k - 1], &w[k - 1], &b[k - 1]);
                let rho = g.scalar("rho", s.rho);
                match model.family() {
                    Family::Hopfield => {
                        // z_k = f_k(a + ρ (W_kᵀ z_{k+1})).
                        let c = g.node("MatMul", &[&state[k + 1], &w[k]], vec![], "wt_z");
                        let rc = g.node("Mul", &[&rho, &c], vec![], "rho_c");
                        let pre = g.node("Add", &[&a, &rc], vec![], "pre");
                        g.activate(s.activation, pre, &stem)
                    }
                    Family::FenchelYoung => {
                        // d = z_{k+1} − f_{k+1}(W_k z_k + b_k); c = W_kᵀ d;
                        // z_k = f_k(z_k + η((a − z_k) + ρ c)).
                        let up = spec(k + 1).map_or(Activation::Identity, |t| t.activation);
                        let ak = g.affine(&state[k], &w[k], &b[k]);
                        let fk = g.activate(up, ak, "f_up");
                        let d = g.node("Sub", &[&state[k + 1], &fk], vec![], "d");
                        let c = g.node("MatMul", &[&d, &w[k]], vec![], "wt_d");
                        let eta = g.scalar("eta", s.step);
                        let diff = g.node("Sub", &[&a, &state[k]], vec![], "a_minus_z");
                        let rc = g.node("Mul", &[&rho, &c], vec![], "rho_c");
                        let inner = g.node("Add", &[&diff, &rc], vec![], "inner");
                        let step = g.node("Mul", &[&eta, &inner], vec![], "eta_inner");
                        let pre = g.node("Add", &[&state[k], &step], vec![], "pre");
                        g.activate(s.activation, pre, &stem)
                    }
                }
            }
        };
        state[k] = new;
    }
    let last = state[l].clone();
    g.nodes.push(NodeProto {
        input: vec![last],
        output: vec![OUTPUT.to_owned()],
        name: "output".to_owned(),
        op_type: "Identity".to_owned(),
        attribute: Vec::new(),
    });

    let doc = format!(
        "The deployed map of a lifted model: {} family, {} init, K = {}, {:?} schedule, {} updates \
         (lifted_core::schedule::Updates::deployed). Inputs must lie in [{}, {}] as the model \
         declares; the graph does not check it.",
        match model.family() {
            Family::FenchelYoung => "fenchel-young",
            Family::Hopfield => "hopfield",
        },
        match model.init() {
            Init::Forward => "forward",
            Init::Zero => "zero",
        },
        model.sweeps(),
        model.schedule(),
        Updates::deployed(
            l,
            model.family(),
            model.init(),
            model.sweeps(),
            model.schedule()
        )
        .total(),
        model.header().input_min,
        model.header().input_max,
    );
    Ok(ModelProto {
        ir_version: IR_VERSION,
        producer_name: "lifted".to_owned(),
        producer_version: env!("CARGO_PKG_VERSION").to_owned(),
        doc_string: doc,
        graph: Some(GraphProto {
            node: g.nodes,
            name: "lifted_deployed_map".to_owned(),
            initializer: g.init,
            doc_string: String::new(),
            input: vec![value_info(INPUT, model.input_dim())],
            output: vec![value_info(OUTPUT, model.classes())],
        }),
        opset_import: vec![OperatorSetIdProto {
            domain: String::new(),
            version: OPSET,
        }],
    })
}

/// The serialised ONNX model of `model`'s deployed map.
///
/// # Errors
/// As [`to_onnx`].
pub fn onnx_bytes(model: &ModelView<'_>) -> Result<Vec<u8>> {
    Ok(to_onnx(model)?.encode_to_vec())
}

/// Writes the ONNX model of `model`'s deployed map to `path`; returns the number of bytes.
///
/// # Errors
/// As [`to_onnx`], or the file cannot be written.
pub fn write_onnx(model: &ModelView<'_>, path: &Path) -> Result<usize> {
    let bytes = onnx_bytes(model)?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    fs::write(path, &bytes).with_context(|| format!("writing {}", path.display()))?;
    Ok(bytes.len())
}

/// Reads the blob at `blob` (checked as the firmware's loader checks it) and writes the ONNX
/// model of its deployed map to `out`; returns the number of bytes written.
///
/// # Errors
/// The blob cannot be read or does not load, or `out` cannot be written.
pub fn write_onnx_of_blob(blob: &Path, out: &Path) -> Result<usize> {
    let b = crate::model::file::read_blob(blob)?;
    let model = crate::model::file::open(&b)?;
    write_onnx(&model, out)
}

/// Arguments of `lifted onnx`.
#[derive(Debug, Clone, clap::Args)]
#[command(
    after_help = "The graph is the exact update list that lifted-core's infer runs for this model (the init, \
K block-coordinate sweeps, the top-down tail): Gemm/MatMul/Mul/Add/Sub/Relu/Clip nodes, opset 13, input `x` \
[N, n0] float32, output `logits` [N, C]. It agrees with infer up to the summation order of the runtime's \
matrix products; it does not check the input range. See docs/interop.md.\n\n\
Example: lifted onnx --model model.lfm --out model.onnx"
)]
pub struct OnnxArgs {
    /// The exported model blob (.lfm).
    #[arg(long, value_name = "M.lfm")]
    pub model: std::path::PathBuf,
    /// The ONNX file to write.
    #[arg(long, value_name = "M.onnx")]
    pub out: std::path::PathBuf,
}

/// Runs `lifted onnx`.
///
/// # Errors
/// As [`write_onnx_of_blob`].
pub fn run(args: &OnnxArgs) -> Result<usize> {
    let n = write_onnx_of_blob(&args.model, &args.out)?;
    println!("wrote {} ({n} bytes)", args.out.display());
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_written_model_decodes_back_to_the_same_message() {
        let m = ModelProto {
            ir_version: IR_VERSION,
            producer_name: "lifted".into(),
            opset_import: vec![OperatorSetIdProto {
                domain: String::new(),
                version: OPSET,
            }],
            ..ModelProto::default()
        };
        let bytes = m.encode_to_vec();
        // Field 1 (varint) = 7 comes first: tag byte 0x08, value 0x07.
        assert_eq!(&bytes[..2], &[0x08, 0x07]);
        assert_eq!(ModelProto::decode(bytes.as_slice()).unwrap(), m);
    }
}
