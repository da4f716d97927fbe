//! A small builder over the ONNX protobuf types: nodes named by their place in the tower (as
//! torch's exporter names them), weights as initializers, every value named once.

use prost::Message;

use super::onnx::{
    AttributeProto, GraphProto, ModelProto, NodeProto, OperatorSetIdProto, TensorProto,
    TensorShapeProto, TypeProto, ValueInfoProto, attribute_proto::AttributeType,
    tensor_proto::DataType, tensor_shape_proto, type_proto,
};

/// The opset the Python export writes and the runtime is tested with.
pub const OPSET: i64 = 14;
/// ONNX IR version 7 is the one that goes with opset 14.
const IR_VERSION: i64 = 7;

pub struct Graph {
    name: String,
    nodes: Vec<NodeProto>,
    initializers: Vec<TensorProto>,
    inputs: Vec<ValueInfoProto>,
    outputs: Vec<ValueInfoProto>,
    /// Per (scope, op) counters, so names read like torch's: `/text_model/Gather_2`.
    counts: std::collections::HashMap<String, usize>,
}

/// A dimension of an input or output: fixed, or named (dynamic).
pub enum Dim {
    Fixed(i64),
    Named(&'static str),
}

pub fn int(name: &str, value: i64) -> AttributeProto {
    AttributeProto {
        name: Some(name.into()),
        r#type: Some(AttributeType::Int as i32),
        i: Some(value),
        ..Default::default()
    }
}

pub fn ints(name: &str, values: &[i64]) -> AttributeProto {
    AttributeProto {
        name: Some(name.into()),
        r#type: Some(AttributeType::Ints as i32),
        ints: values.to_vec(),
        ..Default::default()
    }
}

impl Graph {
    pub fn new(name: &str) -> Self {
        Self {
            name: name.into(),
            nodes: Vec::new(),
            initializers: Vec::new(),
            inputs: Vec::new(),
            outputs: Vec::new(),
            counts: Default::default(),
        }
    }

    pub fn input(&mut self, name: &str, elem: DataType, dims: &[Dim]) -> String {
        self.inputs.push(value_info(name, elem, dims));
        name.into()
    }

    pub fn output(&mut self, name: &str, elem: DataType, dims: &[Dim]) {
        self.outputs.push(value_info(name, elem, dims));
    }

    /// Adds one node in `scope` and returns the name of its (only) output.
    pub fn op(
        &mut self,
        scope: &str,
        op: &str,
        inputs: &[&str],
        attributes: Vec<AttributeProto>,
    ) -> String {
        let key = format!("{scope}/{op}");
        let n = self.counts.entry(key.clone()).or_insert(0);
        let name = if *n == 0 { key } else { format!("{key}_{n}") };
        *n += 1;
        let output = format!("{name}_output_0");
        self.push(&name, op, inputs, attributes, &output)
    }

    /// Adds a node with the given name and output name.
    pub fn named(&mut self, name: &str, op: &str, inputs: &[&str], output: &str) -> String {
        self.push(name, op, inputs, Vec::new(), output)
    }

    fn push(
        &mut self,
        name: &str,
        op: &str,
        inputs: &[&str],
        attributes: Vec<AttributeProto>,
        output: &str,
    ) -> String {
        self.nodes.push(NodeProto {
            input: inputs.iter().map(|s| s.to_string()).collect(),
            output: vec![output.into()],
            name: Some(name.into()),
            op_type: Some(op.into()),
            attribute: attributes,
            ..Default::default()
        });
        output.into()
    }

    /// Renames the output of the last node (the graph's declared output).
    pub fn rename_last_output(&mut self, to: &str) {
        if let Some(node) = self.nodes.last_mut() {
            node.output = vec![to.into()];
        }
    }

    pub fn floats(&mut self, name: &str, dims: &[usize], data: &[f32]) -> String {
        let mut raw = Vec::with_capacity(data.len() * 4);
        for v in data {
            raw.extend_from_slice(&v.to_le_bytes());
        }
        self.raw(name, DataType::Float, dims, raw)
    }

    pub fn int64s(&mut self, name: &str, dims: &[usize], data: &[i64]) -> String {
        let mut raw = Vec::with_capacity(data.len() * 8);
        for v in data {
            raw.extend_from_slice(&v.to_le_bytes());
        }
        self.raw(name, DataType::Int64, dims, raw)
    }

    pub fn raw(&mut self, name: &str, elem: DataType, dims: &[usize], raw: Vec<u8>) -> String {
        self.initializers.push(TensorProto {
            dims: dims.iter().map(|&d| d as i64).collect(),
            data_type: Some(elem as i32),
            name: Some(name.into()),
            raw_data: Some(raw),
            ..Default::default()
        });
        name.into()
    }

    /// The serialized model. Consumes the graph: its weights move into the message, not copied.
    pub fn encode(self, producer_version: &str) -> Vec<u8> {
        ModelProto {
            ir_version: Some(IR_VERSION),
            opset_import: vec![OperatorSetIdProto {
                domain: Some(String::new()),
                version: Some(OPSET),
            }],
            producer_name: Some("clipstream model import".into()),
            producer_version: Some(producer_version.into()),
            graph: Some(GraphProto {
                name: Some(self.name),
                node: self.nodes,
                initializer: self.initializers,
                input: self.inputs,
                output: self.outputs,
                ..Default::default()
            }),
            ..Default::default()
        }
        .encode_to_vec()
    }
}

fn value_info(name: &str, elem: DataType, dims: &[Dim]) -> ValueInfoProto {
    let dim = dims
        .iter()
        .map(|d| tensor_shape_proto::Dimension {
            value: Some(match d {
                Dim::Fixed(v) => tensor_shape_proto::dimension::Value::DimValue(*v),
                Dim::Named(n) => tensor_shape_proto::dimension::Value::DimParam((*n).into()),
            }),
            ..Default::default()
        })
        .collect();
    ValueInfoProto {
        name: Some(name.into()),
        r#type: Some(TypeProto {
            value: Some(type_proto::Value::TensorType(type_proto::Tensor {
                elem_type: Some(elem as i32),
                shape: Some(TensorShapeProto { dim }),
            })),
            ..Default::default()
        }),
        ..Default::default()
    }
}
