//! The ONNX messages an exported model needs, encoded with [`super::proto::Writer`].
//!
//! Field numbers are those of `onnx/onnx.proto` (IR version 8):
//!
//! | message | fields used |
//! |---|---|
//! | ModelProto | ir_version 1, producer_name 2, producer_version 3, doc_string 6, graph 7, opset_import 8 |
//! | OperatorSetIdProto | domain 1, version 2 |
//! | GraphProto | node 1, name 2, initializer 5, doc_string 10, input 11, output 12 |
//! | NodeProto | input 1, output 2, name 3, op_type 4, attribute 5 |
//! | AttributeProto | name 1, f 2, i 3, ints 8, type 20 (FLOAT 1, INT 2, INTS 7) |
//! | TensorProto | dims 1, data_type 2 (FLOAT 1, INT64 7), name 8, raw_data 9 (little-endian) |
//! | ValueInfoProto | name 1, type 2 |
//! | TypeProto | tensor_type 1 → elem_type 1, shape 2 → dim 1 → dim_value 1 / dim_param 2 |

use super::proto::Writer;

/// ONNX IR version written (onnx 1.10+, every onnxruntime since 1.10 reads it).
pub const IR_VERSION: i64 = 8;
/// Opset of the default domain: ReduceSum takes `axes` as an input, ReduceMean as an
/// attribute, Softmax works on one axis.
pub const OPSET: i64 = 13;

/// Element types of tensors and graph inputs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Elem {
    F32,
    I64,
}

impl Elem {
    /// TensorProto.DataType.
    pub fn code(self) -> i64 {
        match self {
            Elem::F32 => 1,
            Elem::I64 => 7,
        }
    }
}

/// One dimension of a graph input or output.
#[derive(Clone, Debug, PartialEq)]
pub enum Dim {
    Fixed(i64),
    /// A symbolic size, e.g. `"batch"`.
    Named(String),
}

#[derive(Clone, Debug, PartialEq)]
pub struct ValueInfo {
    pub name: String,
    pub elem: Elem,
    pub dims: Vec<Dim>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Attr {
    Int(i64),
    Float(f32),
    Ints(Vec<i64>),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    pub op: String,
    pub name: String,
    pub inputs: Vec<String>,
    pub outputs: Vec<String>,
    pub attrs: Vec<(String, Attr)>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Data {
    F32(Vec<f32>),
    I64(Vec<i64>),
}

/// A constant (an initializer): weights, embedding tables, axes.
#[derive(Clone, Debug, PartialEq)]
pub struct Tensor {
    pub name: String,
    pub dims: Vec<i64>,
    pub data: Data,
}

/// A graph under construction: nodes in topological order, initializers, inputs and
/// outputs. Intermediate names are `_t<n>`, unique within the graph.
#[derive(Clone, Debug, Default)]
pub struct OnnxGraph {
    pub name: String,
    pub doc: String,
    pub nodes: Vec<Node>,
    pub initializers: Vec<Tensor>,
    pub inputs: Vec<ValueInfo>,
    pub outputs: Vec<ValueInfo>,
    counter: usize,
}

impl OnnxGraph {
    pub fn new(name: &str) -> OnnxGraph {
        OnnxGraph {
            name: name.to_string(),
            ..OnnxGraph::default()
        }
    }

    /// A fresh intermediate name.
    pub fn fresh(&mut self) -> String {
        self.counter += 1;
        format!("_t{}", self.counter)
    }

    /// Adds `op(inputs)` with one fresh output and returns the output's name.
    pub fn op(&mut self, op: &str, inputs: &[&str], attrs: Vec<(&str, Attr)>) -> String {
        let out = self.fresh();
        self.op_named(op, inputs, attrs, &out);
        out
    }

    /// Adds `op(inputs)` writing to `out`.
    pub fn op_named(&mut self, op: &str, inputs: &[&str], attrs: Vec<(&str, Attr)>, out: &str) {
        let name = format!("{op}_{}", self.nodes.len());
        self.nodes.push(Node {
            op: op.to_string(),
            name,
            inputs: inputs.iter().map(|s| s.to_string()).collect(),
            outputs: vec![out.to_string()],
            attrs: attrs.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
        });
    }

    /// Adds an f32 initializer `name` of shape `dims` and returns its name.
    pub fn const_f32(&mut self, name: &str, dims: &[i64], v: Vec<f32>) -> String {
        self.initializers.push(Tensor {
            name: name.to_string(),
            dims: dims.to_vec(),
            data: Data::F32(v),
        });
        name.to_string()
    }

    /// Adds an int64 initializer with a fresh name (axes, slice bounds, shapes).
    pub fn const_i64(&mut self, v: &[i64]) -> String {
        let name = format!("c{}", self.fresh());
        self.initializers.push(Tensor {
            name: name.clone(),
            dims: vec![v.len() as i64],
            data: Data::I64(v.to_vec()),
        });
        name
    }

    /// A scalar f32 constant with a fresh name.
    pub fn scalar_f32(&mut self, v: f32) -> String {
        let name = format!("c{}", self.fresh());
        self.const_f32(&name, &[], vec![v])
    }

    /// The serialised ModelProto.
    pub fn to_model_bytes(&self, producer_version: &str) -> Vec<u8> {
        let mut m = Writer::new();
        m.int(1, IR_VERSION);
        m.string(2, "mtrec");
        m.string(3, producer_version);
        m.message(7, |g| self.write_graph(g));
        m.message(8, |o| {
            o.string(1, "");
            o.int(2, OPSET);
        });
        m.buf
    }

    fn write_graph(&self, g: &mut Writer) {
        for n in &self.nodes {
            g.message(1, |w| write_node(w, n));
        }
        g.string(2, &self.name);
        for t in &self.initializers {
            g.message(5, |w| write_tensor(w, t));
        }
        if !self.doc.is_empty() {
            g.string(10, &self.doc);
        }
        for v in &self.inputs {
            g.message(11, |w| write_value_info(w, v));
        }
        for v in &self.outputs {
            g.message(12, |w| write_value_info(w, v));
        }
    }
}

fn write_node(w: &mut Writer, n: &Node) {
    for i in &n.inputs {
        w.string(1, i);
    }
    for o in &n.outputs {
        w.string(2, o);
    }
    w.string(3, &n.name);
    w.string(4, &n.op);
    for (name, a) in &n.attrs {
        w.message(5, |w| {
            w.string(1, name);
            match a {
                Attr::Float(f) => {
                    w.float(2, *f);
                    w.int(20, 1);
                }
                Attr::Int(i) => {
                    w.int(3, *i);
                    w.int(20, 2);
                }
                Attr::Ints(v) => {
                    for &i in v {
                        w.int(8, i);
                    }
                    w.int(20, 7);
                }
            }
        });
    }
}

fn write_tensor(w: &mut Writer, t: &Tensor) {
    w.packed_ints(1, &t.dims);
    let (elem, raw): (Elem, Vec<u8>) = match &t.data {
        Data::F32(v) => (Elem::F32, v.iter().flat_map(|x| x.to_le_bytes()).collect()),
        Data::I64(v) => (Elem::I64, v.iter().flat_map(|x| x.to_le_bytes()).collect()),
    };
    w.int(2, elem.code());
    w.string(8, &t.name);
    w.bytes(9, &raw);
}

fn write_value_info(w: &mut Writer, v: &ValueInfo) {
    w.string(1, &v.name);
    w.message(2, |ty| {
        ty.message(1, |tt| {
            tt.int(1, v.elem.code());
            tt.message(2, |shape| {
                for extent in &v.dims {
                    shape.message(1, |dim| match extent {
                        Dim::Fixed(n) => dim.int(1, *n),
                        Dim::Named(s) => dim.string(2, s),
                    });
                }
            });
        });
    });
}
