//! The file written by `mtrec export` back into an [`OnnxGraph`], with the crate's own
//! protobuf reader, so that the interpreter can run what was written.

use mtrec::export::onnx::{Attr, Data, Dim, Elem, Node, OnnxGraph, Tensor, ValueInfo};
use mtrec::export::proto::{fields, packed_varints, Value};

fn bytes<'a>(v: &Value<'a>) -> &'a [u8] {
    match v {
        Value::Bytes(b) => b,
        other => panic!("expected a length-delimited field, got {other:?}"),
    }
}

fn varint(v: &Value) -> i64 {
    match v {
        Value::Varint(x) => *x as i64,
        other => panic!("expected a varint, got {other:?}"),
    }
}

fn string(v: &Value) -> String {
    String::from_utf8(bytes(v).to_vec()).unwrap()
}

fn elem(code: i64) -> Elem {
    match code {
        1 => Elem::F32,
        7 => Elem::I64,
        other => panic!("element type {other}"),
    }
}

fn value_info(b: &[u8]) -> ValueInfo {
    let f = fields(b).unwrap();
    let mut vi = ValueInfo {
        name: String::new(),
        elem: Elem::F32,
        dims: Vec::new(),
    };
    for (n, v) in &f {
        match n {
            1 => vi.name = string(v),
            2 => {
                let ty = fields(bytes(v)).unwrap();
                let tensor = fields(bytes(&ty[0].1)).unwrap();
                for (k, v) in &tensor {
                    match k {
                        1 => vi.elem = elem(varint(v)),
                        2 => {
                            for (_, d) in fields(bytes(v)).unwrap() {
                                let dim = fields(bytes(&d)).unwrap();
                                vi.dims.push(match &dim[0] {
                                    (1, x) => Dim::Fixed(varint(x)),
                                    (2, x) => Dim::Named(string(x)),
                                    other => panic!("dim {other:?}"),
                                });
                            }
                        }
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    vi
}

/// Decodes a ModelProto written by `mtrec export` into its graph (IR 8, opset 13
/// checked).
pub fn decode_model(buf: &[u8]) -> OnnxGraph {
    let model = fields(buf).unwrap();
    let one = |n: u32| &model.iter().find(|(k, _)| *k == n).unwrap().1;
    assert_eq!(varint(one(1)), 8, "ir_version");
    let opset = fields(bytes(one(8))).unwrap();
    assert_eq!(varint(&opset.iter().find(|(k, _)| *k == 2).unwrap().1), 13);
    let mut og = OnnxGraph::new("");
    for (n, v) in fields(bytes(one(7))).unwrap() {
        match n {
            1 => {
                let mut node = Node {
                    op: String::new(),
                    name: String::new(),
                    inputs: vec![],
                    outputs: vec![],
                    attrs: vec![],
                };
                for (k, v) in fields(bytes(&v)).unwrap() {
                    match k {
                        1 => node.inputs.push(string(&v)),
                        2 => node.outputs.push(string(&v)),
                        3 => node.name = string(&v),
                        4 => node.op = string(&v),
                        5 => {
                            let a = fields(bytes(&v)).unwrap();
                            let name = string(&a.iter().find(|(k, _)| *k == 1).unwrap().1);
                            let ty = varint(&a.iter().find(|(k, _)| *k == 20).unwrap().1);
                            let val = match ty {
                                1 => match a.iter().find(|(k, _)| *k == 2).unwrap().1 {
                                    Value::Fixed32(b) => Attr::Float(f32::from_bits(b)),
                                    ref other => panic!("float attribute {other:?}"),
                                },
                                2 => Attr::Int(varint(&a.iter().find(|(k, _)| *k == 3).unwrap().1)),
                                7 => Attr::Ints(
                                    a.iter()
                                        .filter(|(k, _)| *k == 8)
                                        .map(|(_, v)| varint(v))
                                        .collect(),
                                ),
                                other => panic!("attribute type {other}"),
                            };
                            node.attrs.push((name, val));
                        }
                        _ => {}
                    }
                }
                og.nodes.push(node);
            }
            2 => og.name = string(&v),
            5 => {
                let t = fields(bytes(&v)).unwrap();
                let dims: Vec<i64> = t
                    .iter()
                    .filter(|(k, _)| *k == 1)
                    .flat_map(|(_, v)| packed_varints(bytes(v)).unwrap())
                    .map(|x| x as i64)
                    .collect();
                let raw = bytes(&t.iter().find(|(k, _)| *k == 9).unwrap().1);
                let data = match elem(varint(&t.iter().find(|(k, _)| *k == 2).unwrap().1)) {
                    Elem::F32 => Data::F32(
                        raw.chunks_exact(4)
                            .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
                            .collect(),
                    ),
                    Elem::I64 => Data::I64(
                        raw.chunks_exact(8)
                            .map(|c| i64::from_le_bytes(c.try_into().unwrap()))
                            .collect(),
                    ),
                };
                og.initializers.push(Tensor {
                    name: string(&t.iter().find(|(k, _)| *k == 8).unwrap().1),
                    dims,
                    data,
                });
            }
            10 => og.doc = string(&v),
            11 => og.inputs.push(value_info(bytes(&v))),
            12 => og.outputs.push(value_info(bytes(&v))),
            _ => {}
        }
    }
    og
}
