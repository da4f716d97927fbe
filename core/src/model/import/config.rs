//! `config.json` of a Hugging Face CLIP checkpoint: the shapes the graphs are built from.
//!
//! Missing fields take transformers' defaults (`CLIPTextConfig`, `CLIPVisionConfig`), as
//! `from_pretrained` does, so an older hub config with only the non-default fields reads the same.

use serde::Deserialize;
use serde_json::Value;

/// The activation of the MLPs; transformers' names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activation {
    /// `x * sigmoid(1.702 x)`: OpenAI's CLIPs.
    QuickGelu,
    /// The exact (erf) GELU: some LAION and other retrained CLIPs.
    Gelu,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Tower {
    pub hidden: usize,
    pub intermediate: usize,
    pub layers: usize,
    pub heads: usize,
    pub activation: Activation,
    pub layer_norm_eps: f32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TextConfig {
    pub tower: Tower,
    pub vocab_size: usize,
    pub context_length: usize,
    /// 2 in OpenAI's hub configs: transformers then pools at `argmax(input_ids)`, the end-of-text
    /// token having the highest id (the "legacy" rule); any other id pools at its first occurrence.
    pub eos_token_id: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct VisionConfig {
    pub tower: Tower,
    pub image_size: usize,
    pub patch_size: usize,
    pub channels: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ClipConfig {
    pub projection_dim: usize,
    pub text: TextConfig,
    pub vision: VisionConfig,
}

impl VisionConfig {
    /// Patches per side.
    pub fn grid(&self) -> usize {
        self.image_size / self.patch_size
    }
}

#[derive(Deserialize)]
struct RawTower {
    hidden_size: Option<usize>,
    intermediate_size: Option<usize>,
    num_hidden_layers: Option<usize>,
    num_attention_heads: Option<usize>,
    hidden_act: Option<String>,
    layer_norm_eps: Option<f32>,
    // Text only.
    vocab_size: Option<usize>,
    max_position_embeddings: Option<usize>,
    eos_token_id: Option<i64>,
    // Vision only.
    image_size: Option<usize>,
    patch_size: Option<usize>,
    num_channels: Option<usize>,
}

/// Parses `config.json`; the error says what is wrong in words a user can act on.
pub fn parse(text: &str) -> Result<ClipConfig, String> {
    let root: Value =
        serde_json::from_str(text).map_err(|e| format!("config.json is not valid JSON: {e}"))?;
    let model_type = root.get("model_type").and_then(Value::as_str).unwrap_or("");
    if model_type != "clip" {
        let found = if model_type.is_empty() {
            "no model_type".to_string()
        } else {
            format!("model_type {model_type:?}")
        };
        return Err(format!(
            "config.json describes no CLIP ({found}; a CLIP checkpoint has \"model_type\": \"clip\")"
        ));
    }
    let section = |name: &str| -> Value {
        // Older configs keep the tower settings in `*_config_dict`.
        [name.to_string(), format!("{name}_dict")]
            .iter()
            .filter_map(|k| root.get(k))
            .find(|v| v.is_object())
            .cloned()
            .unwrap_or_else(|| Value::Object(Default::default()))
    };
    let text_raw = section("text_config");
    let vision_raw = section("vision_config");
    // An RN50-style CLIP lists its ResNet stages as `layers: [3, 4, 6, 3]` (open_clip's layout).
    if vision_raw.get("layers").is_some_and(Value::is_array)
        || vision_raw
            .get("model_type")
            .and_then(Value::as_str)
            .is_some_and(|t| t != "clip_vision_model")
    {
        return Err(
            "its vision tower is not a ViT (a ResNet CLIP such as RN50); ClipStream \
                    imports ViT CLIPs, e.g. openai/clip-vit-base-patch32"
                .into(),
        );
    }
    let text: RawTower =
        serde_json::from_value(text_raw).map_err(|e| format!("config.json text_config: {e}"))?;
    let vision: RawTower = serde_json::from_value(vision_raw)
        .map_err(|e| format!("config.json vision_config: {e}"))?;
    let projection_dim = root
        .get("projection_dim")
        .and_then(Value::as_u64)
        .map_or(512, |v| v as usize);

    let text_tower = tower(&text, "text_config", 512, 2048, 12, 8)?;
    let vision_tower = tower(&vision, "vision_config", 768, 3072, 12, 12)?;
    let config = ClipConfig {
        projection_dim,
        text: TextConfig {
            tower: text_tower,
            vocab_size: text.vocab_size.unwrap_or(49408),
            context_length: text.max_position_embeddings.unwrap_or(77),
            eos_token_id: text.eos_token_id.unwrap_or(49407),
        },
        vision: VisionConfig {
            tower: vision_tower,
            image_size: vision.image_size.unwrap_or(224),
            patch_size: vision.patch_size.unwrap_or(32),
            channels: vision.num_channels.unwrap_or(3),
        },
    };
    let v = &config.vision;
    if v.patch_size == 0 || !v.image_size.is_multiple_of(v.patch_size) {
        return Err(format!(
            "vision_config: image_size {} is not a multiple of patch_size {}",
            v.image_size, v.patch_size
        ));
    }
    if v.channels != 3 {
        return Err(format!(
            "vision_config: {} channels (photos have 3)",
            v.channels
        ));
    }
    if projection_dim == 0 || config.text.vocab_size == 0 || config.text.context_length == 0 {
        return Err(
            "config.json: projection_dim, vocab_size and max_position_embeddings must be positive"
                .into(),
        );
    }
    Ok(config)
}

fn tower(
    raw: &RawTower,
    section: &str,
    hidden: usize,
    intermediate: usize,
    layers: usize,
    heads: usize,
) -> Result<Tower, String> {
    let activation = match raw.hidden_act.as_deref().unwrap_or("quick_gelu") {
        "quick_gelu" => Activation::QuickGelu,
        "gelu" => Activation::Gelu,
        other => {
            return Err(format!(
                "{section}: hidden_act {other:?} is not supported (quick_gelu and gelu are)"
            ));
        }
    };
    let t = Tower {
        hidden: raw.hidden_size.unwrap_or(hidden),
        intermediate: raw.intermediate_size.unwrap_or(intermediate),
        layers: raw.num_hidden_layers.unwrap_or(layers),
        heads: raw.num_attention_heads.unwrap_or(heads),
        activation,
        layer_norm_eps: raw.layer_norm_eps.unwrap_or(1e-5),
    };
    if t.hidden == 0 || t.heads == 0 || !t.hidden.is_multiple_of(t.heads) || t.layers == 0 {
        return Err(format!(
            "{section}: hidden_size {} must be a positive multiple of num_attention_heads {}, with at least one layer",
            t.hidden, t.heads
        ));
    }
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_transformers_vit_b32_and_the_hub_config_reads_the_same() {
        let hub = r#"{"model_type": "clip", "projection_dim": 512,
            "text_config": {"eos_token_id": 2, "hidden_act": "quick_gelu"},
            "vision_config": {"patch_size": 32}}"#;
        let c = parse(hub).expect("a hub config parses");
        assert_eq!(c.text.tower.hidden, 512);
        assert_eq!(c.text.tower.heads, 8);
        assert_eq!(c.text.eos_token_id, 2);
        assert_eq!(c.vision.tower.hidden, 768);
        assert_eq!(c.vision.grid(), 7);
    }

    #[test]
    fn non_clip_and_resnet_configs_are_refused_in_words() {
        let bert = parse(r#"{"model_type": "bert"}"#).expect_err("a BERT is no CLIP");
        assert!(bert.contains("model_type \"bert\""), "{bert}");
        let rn = parse(r#"{"model_type": "clip", "vision_config": {"layers": [3, 4, 6, 3]}}"#)
            .expect_err("a ResNet tower is refused");
        assert!(rn.contains("ResNet"), "{rn}");
        let act = parse(r#"{"model_type": "clip", "text_config": {"hidden_act": "relu"}}"#)
            .expect_err("an unknown activation is refused");
        assert!(act.contains("relu"), "{act}");
        let patch = parse(
            r#"{"model_type": "clip", "vision_config": {"image_size": 100, "patch_size": 32}}"#,
        )
        .expect_err("a partial patch grid is refused");
        assert!(patch.contains("multiple of patch_size"), "{patch}");
    }
}
