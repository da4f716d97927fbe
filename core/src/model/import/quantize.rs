//! The token-embedding table in 8 bits, exactly as ONNX Runtime's `quantize_dynamic` stores a
//! Gather's weight (onnxruntime/quantization/quant_utils.py): per tensor, asymmetric uint8, the
//! range widened to hold 0, scale and zero point computed in float64, values rounded half to even.

pub struct Quantized {
    pub values: Vec<u8>,
    pub scale: f32,
    pub zero_point: u8,
}

pub fn uint8_asymmetric(data: &[f32]) -> Quantized {
    let (mut min, mut max) = (0f32, 0f32);
    for &v in data {
        min = min.min(v);
        max = max.max(v);
    }
    let scale64 = (f64::from(max) - f64::from(min)) / 255.0;
    if (scale64 as f32) < f32::MIN_POSITIVE {
        // An all-zero table: ORT then uses scale 1 and zero point 0.
        return Quantized {
            values: vec![0; data.len()],
            scale: 1.0,
            zero_point: 0,
        };
    }
    let zero_point = (-f64::from(min) / scale64)
        .round_ties_even()
        .clamp(0.0, 255.0) as u8;
    let scale = scale64 as f32;
    let zp = f32::from(zero_point);
    let values = data
        .iter()
        .map(|&v| ((v / scale).round_ties_even() + zp).clamp(0.0, 255.0) as u8)
        .collect();
    Quantized {
        values,
        scale,
        zero_point,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_range_holds_zero_and_its_ends_map_to_0_and_255() {
        let q = uint8_asymmetric(&[-1.0, 0.0, 0.5, 3.0]);
        assert_eq!(q.values[0], 0);
        assert_eq!(q.values[3], 255);
        assert_eq!(q.values[1], q.zero_point);
        // Dequantized values are within half a step of the originals.
        for (v, want) in q.values.iter().zip([-1.0f32, 0.0, 0.5, 3.0]) {
            let back = (f32::from(*v) - f32::from(q.zero_point)) * q.scale;
            assert!(
                (back - want).abs() <= q.scale / 2.0 + 1e-6,
                "{back} vs {want}"
            );
        }
        let positive = uint8_asymmetric(&[1.0, 2.0]);
        assert_eq!(positive.zero_point, 0, "0 is the range's low end");
    }
}
