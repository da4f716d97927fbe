//! CLIP's two towers as ONNX graphs, built from the config and read from the checkpoint: the same
//! computation as transformers' `CLIPTextModel`/`CLIPVisionModel` with eager attention, in the ops
//! torch's opset-14 exporter writes for it (LayerNorm spelled out, as opset 14 has no LayerNormalization).

use super::checkpoint::Checkpoint;
use super::config::{Activation, ClipConfig, Tower};
use super::graph::{Dim, Graph, int, ints};
use super::onnx::tensor_proto::DataType;
use super::quantize;

pub const TEXT_INPUT: &str = "input_ids";
pub const TEXT_OUTPUT: &str = "text_embeds";
pub const VISION_INPUT: &str = "pixel_values";
pub const VISION_OUTPUT: &str = "image_embeds";

type Built = Result<String, String>;

/// The text tower: `input_ids [batch, sequence]` (int64) → `text_embeds [batch, projection]`,
/// projected and not normalised. With `hybrid`, the token-embedding table is stored as 8-bit and
/// dequantized after its Gather (ONNX Runtime's dynamic quantization of that one node); every
/// layer stays FP32.
pub fn text(ck: &Checkpoint, cfg: &ClipConfig, hybrid: bool) -> Result<Graph, String> {
    let t = &cfg.text;
    let mut g = Graph::new("clip_text");
    let ids = g.input(
        TEXT_INPUT,
        DataType::Int64,
        &[Dim::Named("batch"), Dim::Named("sequence")],
    );
    let s = "/text_model";
    let zero = g.int64s("zero", &[], &[0]);
    let one = g.int64s("one", &[], &[1]);
    let shape = g.op(s, "Shape", &[&ids], vec![]);
    let batch = g.op(s, "Gather", &[&shape, &zero], vec![int("axis", 0)]);
    let seq = g.op(s, "Gather", &[&shape, &one], vec![int("axis", 0)]);

    let mut x = text_embeddings(&mut g, ck, cfg, hybrid, &ids, &seq)?;
    let mask = causal_mask(&mut g, &seq, &zero, &one);
    for layer in 0..t.tower.layers {
        x = encoder_layer(
            &mut g,
            ck,
            &t.tower,
            &format!("text_model.encoder.layers.{layer}"),
            &format!("/text_model/encoder/layers.{layer}"),
            &x,
            Some(&mask),
        )?;
    }
    let last = layer_norm(
        &mut g,
        ck,
        "text_model.final_layer_norm",
        "/text_model/final_layer_norm",
        t.tower.hidden,
        t.tower.layer_norm_eps,
        &x,
    )?;
    let pooled = pool_at_end_of_text(&mut g, cfg, &ids, &last, [&batch, &seq, &zero, &one]);
    let projection = matrix(
        &mut g,
        ck,
        "text_projection.weight",
        cfg.projection_dim,
        t.tower.hidden,
    )?;
    g.op(
        "/text_projection",
        "MatMul",
        &[&pooled, &projection],
        vec![],
    );
    g.rename_last_output(TEXT_OUTPUT);
    g.output(
        TEXT_OUTPUT,
        DataType::Float,
        &[Dim::Named("batch"), Dim::Fixed(cfg.projection_dim as i64)],
    );
    Ok(g)
}

/// Token embeddings (8-bit with `hybrid`) plus the first `seq` position embeddings.
fn text_embeddings(
    g: &mut Graph,
    ck: &Checkpoint,
    cfg: &ClipConfig,
    hybrid: bool,
    ids: &str,
    seq: &str,
) -> Built {
    let t = &cfg.text;
    let w = t.tower.hidden;
    let e = "/text_model/embeddings";
    let name = "text_model.embeddings.token_embedding.weight";
    let table = ck.read(name, &[t.vocab_size, w])?;
    let tokens = if hybrid {
        let q = quantize::uint8_asymmetric(&table.data);
        let qt = g.raw(
            &format!("{name}_quantized"),
            DataType::Uint8,
            &[t.vocab_size, w],
            q.values,
        );
        let scale = g.floats(&format!("{name}_scale"), &[], &[q.scale]);
        let zp = g.raw(
            &format!("{name}_zero_point"),
            DataType::Uint8,
            &[],
            vec![q.zero_point],
        );
        // Named as ONNX Runtime's quantizer names them: the Gather keeps its name, and the
        // dequantized value keeps the FP32 graph's name, so nothing downstream changes.
        let gather = format!("{e}/token_embedding/Gather");
        let value = format!("{gather}_output_0");
        let quantized = format!("{value}_quantized");
        g.named(&gather, "Gather", &[&qt, ids], &quantized);
        g.named(
            &format!("{value}_DequantizeLinear"),
            "DequantizeLinear",
            &[&quantized, &scale, &zp],
            &value,
        )
    } else {
        let table = g.floats(name, &[t.vocab_size, w], &table.data);
        g.op(
            &format!("{e}/token_embedding"),
            "Gather",
            &[&table, ids],
            vec![],
        )
    };
    let name = "text_model.embeddings.position_embedding.weight";
    let positions = ck.read(name, &[t.context_length, w])?;
    let positions = g.floats(name, &[t.context_length, w], &positions.data);
    let start = g.int64s("slice_start", &[1], &[0]);
    let axis0 = g.int64s("axis_0", &[1], &[0]);
    let unsqueeze0 = g.int64s("unsqueeze_0", &[1], &[0]);
    let seq_1d = g.op(e, "Unsqueeze", &[seq, &unsqueeze0], vec![]);
    let used = g.op(e, "Slice", &[&positions, &start, &seq_1d, &axis0], vec![]);
    Ok(g.op(e, "Add", &[&tokens, &used], vec![]))
}

/// `[seq, seq]`: float32's minimum above the diagonal, as transformers adds, 0 elsewhere.
fn causal_mask(g: &mut Graph, seq: &str, zero: &str, one: &str) -> String {
    let s = "/text_model";
    let range = g.op(s, "Range", &[zero, seq, one], vec![]);
    let rows_axis = g.int64s("mask_rows_axis", &[1], &[1]);
    let cols_axis = g.int64s("mask_cols_axis", &[1], &[0]);
    let rows = g.op(s, "Unsqueeze", &[&range, &rows_axis], vec![]);
    let cols = g.op(s, "Unsqueeze", &[&range, &cols_axis], vec![]);
    let above = g.op(s, "Greater", &[&cols, &rows], vec![]);
    let masked = g.floats("mask_min", &[], &[f32::MIN]);
    let open = g.floats("mask_zero", &[], &[0.0]);
    g.op(s, "Where", &[&above, &masked, &open], vec![])
}

/// Each row's hidden state at its end-of-text token, by transformers' two rules (see
/// `TextConfig::eos_token_id`): `[batch, seq, width]` → `[batch, width]`.
fn pool_at_end_of_text(
    g: &mut Graph,
    cfg: &ClipConfig,
    ids: &str,
    last: &str,
    [batch, seq, zero, one]: [&str; 4],
) -> String {
    let s = "/text_model";
    let ids32 = g.op(s, "Cast", &[ids], vec![int("to", DataType::Int32 as i64)]);
    let scores = if cfg.text.eos_token_id == 2 {
        ids32
    } else {
        let eos = g.int64s("eos_token_id", &[], &[cfg.text.eos_token_id]);
        let is_eos = g.op(s, "Equal", &[ids, &eos], vec![]);
        g.op(
            s,
            "Cast",
            &[&is_eos],
            vec![int("to", DataType::Int32 as i64)],
        )
    };
    let at = g.op(
        s,
        "ArgMax",
        &[&scores],
        vec![int("axis", -1), int("keepdims", 0)],
    );
    let width = cfg.text.tower.hidden as i64;
    let rows_shape = g.int64s("rows_shape", &[2], &[-1, width]);
    let flat = g.op(s, "Reshape", &[last, &rows_shape], vec![]);
    let row_starts = g.op(s, "Range", &[zero, batch, one], vec![]);
    let row_starts = g.op(s, "Mul", &[&row_starts, seq], vec![]);
    let rows_at = g.op(s, "Add", &[&row_starts, &at], vec![]);
    g.op(s, "Gather", &[&flat, &rows_at], vec![int("axis", 0)])
}

/// The vision tower: `pixel_values [batch, 3, size, size]` → `image_embeds [batch, projection]`.
pub fn vision(ck: &Checkpoint, cfg: &ClipConfig) -> Result<Graph, String> {
    let v = &cfg.vision;
    let d = v.tower.hidden;
    let size = v.image_size;
    let mut g = Graph::new("clip_vision");
    let pixels = g.input(
        VISION_INPUT,
        DataType::Float,
        &[
            Dim::Named("batch"),
            Dim::Fixed(v.channels as i64),
            Dim::Fixed(size as i64),
            Dim::Fixed(size as i64),
        ],
    );
    let tokens = vision_embeddings(&mut g, ck, cfg, &pixels)?;

    let eps = v.tower.layer_norm_eps;
    let mut x = layer_norm(
        &mut g,
        ck,
        "vision_model.pre_layrnorm",
        "/vision_model/pre_layrnorm",
        d,
        eps,
        &tokens,
    )?;
    for layer in 0..v.tower.layers {
        x = encoder_layer(
            &mut g,
            ck,
            &v.tower,
            &format!("vision_model.encoder.layers.{layer}"),
            &format!("/vision_model/encoder/layers.{layer}"),
            &x,
            None,
        )?;
    }
    let zero = g.int64s("zero", &[], &[0]);
    let first = g.op(
        "/vision_model",
        "Gather",
        &[&x, &zero],
        vec![int("axis", 1)],
    );
    let pooled = layer_norm(
        &mut g,
        ck,
        "vision_model.post_layernorm",
        "/vision_model/post_layernorm",
        d,
        eps,
        &first,
    )?;
    let projection = matrix(
        &mut g,
        ck,
        "visual_projection.weight",
        cfg.projection_dim,
        d,
    )?;
    g.op(
        "/visual_projection",
        "MatMul",
        &[&pooled, &projection],
        vec![],
    );
    g.rename_last_output(VISION_OUTPUT);
    g.output(
        VISION_OUTPUT,
        DataType::Float,
        &[Dim::Named("batch"), Dim::Fixed(cfg.projection_dim as i64)],
    );
    Ok(g)
}

/// The class token, then one token per patch (a strided Conv), plus position embeddings:
/// `[batch, 3, size, size]` → `[batch, 1 + patches, width]`.
fn vision_embeddings(g: &mut Graph, ck: &Checkpoint, cfg: &ClipConfig, pixels: &str) -> Built {
    let v = &cfg.vision;
    let (d, patch, grid) = (v.tower.hidden, v.patch_size, v.grid());
    let e = "/vision_model/embeddings";
    let name = "vision_model.embeddings.patch_embedding.weight";
    let kernel = ck.read(name, &[d, v.channels, patch, patch])?;
    let kernel = g.floats(name, &[d, v.channels, patch, patch], &kernel.data);
    let p = patch as i64;
    let patches = g.op(
        &format!("{e}/patch_embedding"),
        "Conv",
        &[pixels, &kernel],
        vec![ints("kernel_shape", &[p, p]), ints("strides", &[p, p])],
    );
    let flat_shape = g.int64s("patches_shape", &[3], &[0, d as i64, -1]);
    let patches = g.op(e, "Reshape", &[&patches, &flat_shape], vec![]);
    let patches = g.op(e, "Transpose", &[&patches], vec![ints("perm", &[0, 2, 1])]);

    let name = "vision_model.embeddings.class_embedding";
    let class = ck.read(name, &[d])?;
    let class = g.floats(name, &[1, 1, d], &class.data);
    let shape = g.op(e, "Shape", &[pixels], vec![]);
    let start = g.int64s("slice_start", &[1], &[0]);
    let end = g.int64s("slice_end", &[1], &[1]);
    let batch = g.op(e, "Slice", &[&shape, &start, &end], vec![]);
    let rest = g.int64s("class_shape", &[2], &[1, d as i64]);
    let class_shape = g.op(e, "Concat", &[&batch, &rest], vec![int("axis", 0)]);
    let classes = g.op(e, "Expand", &[&class, &class_shape], vec![]);
    let tokens = g.op(e, "Concat", &[&classes, &patches], vec![int("axis", 1)]);
    let name = "vision_model.embeddings.position_embedding.weight";
    let n = grid * grid + 1;
    let positions = ck.read(name, &[n, d])?;
    let positions = g.floats(name, &[n, d], &positions.data);
    Ok(g.op(e, "Add", &[&tokens, &positions], vec![]))
}

/// A torch Linear weight `[out, in]` as the `[in, out]` right operand of a MatMul.
fn matrix(g: &mut Graph, ck: &Checkpoint, name: &str, out: usize, input: usize) -> Built {
    let w = ck.read(name, &[out, input])?.transposed();
    Ok(g.floats(&format!("{name}.T"), &w.shape, &w.data))
}

fn linear(
    g: &mut Graph,
    ck: &Checkpoint,
    prefix: &str,
    scope: &str,
    x: &str,
    input: usize,
    out: usize,
) -> Built {
    let w = matrix(g, ck, &format!("{prefix}.weight"), out, input)?;
    let name = format!("{prefix}.bias");
    let b = ck.read(&name, &[out])?;
    let b = g.floats(&name, &[out], &b.data);
    let y = g.op(scope, "MatMul", &[x, &w], vec![]);
    Ok(g.op(scope, "Add", &[&y, &b], vec![]))
}

/// `(x - mean) / sqrt(var + eps) * weight + bias` over the last axis.
fn layer_norm(
    g: &mut Graph,
    ck: &Checkpoint,
    prefix: &str,
    scope: &str,
    width: usize,
    eps: f32,
    x: &str,
) -> Built {
    let weight = format!("{prefix}.weight");
    let bias = format!("{prefix}.bias");
    let gamma = ck.read(&weight, &[width])?;
    let beta = ck.read(&bias, &[width])?;
    let gamma = g.floats(&weight, &[width], &gamma.data);
    let beta = g.floats(&bias, &[width], &beta.data);
    let two = g.floats(&format!("{scope}/two"), &[], &[2.0]);
    let eps = g.floats(&format!("{scope}/eps"), &[], &[eps]);
    let last_axis = vec![ints("axes", &[-1]), int("keepdims", 1)];
    let mean = g.op(scope, "ReduceMean", &[x], last_axis.clone());
    let centred = g.op(scope, "Sub", &[x, &mean], vec![]);
    let squared = g.op(scope, "Pow", &[&centred, &two], vec![]);
    let var = g.op(scope, "ReduceMean", &[&squared], last_axis);
    let var = g.op(scope, "Add", &[&var, &eps], vec![]);
    let std = g.op(scope, "Sqrt", &[&var], vec![]);
    let y = g.op(scope, "Div", &[&centred, &std], vec![]);
    let y = g.op(scope, "Mul", &[&y, &gamma], vec![]);
    Ok(g.op(scope, "Add", &[&y, &beta], vec![]))
}

/// One pre-norm transformer layer: `x + attn(ln1(x))`, then `x + mlp(ln2(x))`.
fn encoder_layer(
    g: &mut Graph,
    ck: &Checkpoint,
    tower: &Tower,
    prefix: &str,
    scope: &str,
    x: &str,
    mask: Option<&str>,
) -> Built {
    let w = tower.hidden;
    let eps = tower.layer_norm_eps;
    let h = layer_norm(
        g,
        ck,
        &format!("{prefix}.layer_norm1"),
        &format!("{scope}/layer_norm1"),
        w,
        eps,
        x,
    )?;
    let a = attention(g, ck, tower, prefix, scope, &h, mask)?;
    let x = g.op(scope, "Add", &[x, &a], vec![]);
    let h = layer_norm(
        g,
        ck,
        &format!("{prefix}.layer_norm2"),
        &format!("{scope}/layer_norm2"),
        w,
        eps,
        &x,
    )?;
    let mlp = format!("{scope}/mlp");
    let up = linear(
        g,
        ck,
        &format!("{prefix}.mlp.fc1"),
        &format!("{mlp}/fc1"),
        &h,
        w,
        tower.intermediate,
    )?;
    let act = activation(g, tower.activation, &format!("{mlp}/activation_fn"), &up);
    let down = linear(
        g,
        ck,
        &format!("{prefix}.mlp.fc2"),
        &format!("{mlp}/fc2"),
        &act,
        tower.intermediate,
        w,
    )?;
    Ok(g.op(scope, "Add", &[&x, &down], vec![]))
}

fn activation(g: &mut Graph, kind: Activation, scope: &str, x: &str) -> String {
    match kind {
        Activation::QuickGelu => {
            let k = g.floats(&format!("{scope}/k"), &[], &[1.702]);
            let kx = g.op(scope, "Mul", &[x, &k], vec![]);
            let gate = g.op(scope, "Sigmoid", &[&kx], vec![]);
            g.op(scope, "Mul", &[x, &gate], vec![])
        }
        Activation::Gelu => {
            let root2 = g.floats(&format!("{scope}/sqrt2"), &[], &[std::f32::consts::SQRT_2]);
            let one = g.floats(&format!("{scope}/one"), &[], &[1.0]);
            let half = g.floats(&format!("{scope}/half"), &[], &[0.5]);
            let scaled = g.op(scope, "Div", &[x, &root2], vec![]);
            let erf = g.op(scope, "Erf", &[&scaled], vec![]);
            let erf = g.op(scope, "Add", &[&erf, &one], vec![]);
            let y = g.op(scope, "Mul", &[x, &erf], vec![]);
            g.op(scope, "Mul", &[&y, &half], vec![])
        }
    }
}

/// Multi-head self-attention as transformers' eager path computes it:
/// `softmax(q kᵀ · head_dim^-0.5 + mask) v`, then the output projection.
fn attention(
    g: &mut Graph,
    ck: &Checkpoint,
    tower: &Tower,
    prefix: &str,
    scope: &str,
    h: &str,
    mask: Option<&str>,
) -> Built {
    let w = tower.hidden;
    let heads = tower.heads;
    let head_dim = w / heads;
    let s = format!("{scope}/self_attn");
    let p = format!("{prefix}.self_attn");
    let q = linear(
        g,
        ck,
        &format!("{p}.q_proj"),
        &format!("{s}/q_proj"),
        h,
        w,
        w,
    )?;
    let k = linear(
        g,
        ck,
        &format!("{p}.k_proj"),
        &format!("{s}/k_proj"),
        h,
        w,
        w,
    )?;
    let v = linear(
        g,
        ck,
        &format!("{p}.v_proj"),
        &format!("{s}/v_proj"),
        h,
        w,
        w,
    )?;
    let split = g.int64s(
        &format!("{s}/heads_shape"),
        &[4],
        &[0, 0, heads as i64, head_dim as i64],
    );
    let q = g.op(&s, "Reshape", &[&q, &split], vec![]);
    let q = g.op(&s, "Transpose", &[&q], vec![ints("perm", &[0, 2, 1, 3])]);
    let k = g.op(&s, "Reshape", &[&k, &split], vec![]);
    let k = g.op(&s, "Transpose", &[&k], vec![ints("perm", &[0, 2, 3, 1])]);
    let v = g.op(&s, "Reshape", &[&v, &split], vec![]);
    let v = g.op(&s, "Transpose", &[&v], vec![ints("perm", &[0, 2, 1, 3])]);
    let scores = g.op(&s, "MatMul", &[&q, &k], vec![]);
    let scale = g.floats(
        &format!("{s}/scale"),
        &[],
        &[(head_dim as f64).powf(-0.5) as f32],
    );
    let mut scores = g.op(&s, "Mul", &[&scores, &scale], vec![]);
    if let Some(mask) = mask {
        scores = g.op(&s, "Add", &[&scores, mask], vec![]);
    }
    let weights = g.op(&s, "Softmax", &[&scores], vec![int("axis", -1)]);
    let out = g.op(&s, "MatMul", &[&weights, &v], vec![]);
    let out = g.op(&s, "Transpose", &[&out], vec![ints("perm", &[0, 2, 1, 3])]);
    let merge = g.int64s(&format!("{s}/merge_shape"), &[3], &[0, 0, w as i64]);
    let out = g.op(&s, "Reshape", &[&out, &merge], vec![]);
    linear(
        g,
        ck,
        &format!("{p}.out_proj"),
        &format!("{s}/out_proj"),
        &out,
        w,
        w,
    )
}
