/**
 * A minimal protobuf writer for the subset of onnx.proto3 the feature model needs
 * (ModelProto, GraphProto, NodeProto, AttributeProto, TensorProto, ValueInfoProto). Field
 * numbers follow onnx/onnx.proto3 (IR version 8). Writing is deterministic: fields in a fixed
 * order, no maps, floats as little-endian IEEE 754, so one graph always gives the same bytes.
 */

const utf8 = new TextEncoder();

/** Growable byte sink for one protobuf message. */
export class ProtoWriter {
  private chunks: number[] = [];

  varint(value: number | bigint): this {
    let v = BigInt.asUintN(64, BigInt(value));
    do {
      let byte = Number(v & 0x7fn);
      v >>= 7n;
      if (v !== 0n) byte |= 0x80;
      this.chunks.push(byte);
    } while (v !== 0n);
    return this;
  }

  private tag(field: number, wire: number): this { return this.varint((field << 3) | wire); }

  int(field: number, value: number | bigint): this { return this.tag(field, 0).varint(value); }

  bytes(field: number, value: Uint8Array): this {
    this.tag(field, 2).varint(value.length);
    for (const b of value) this.chunks.push(b);
    return this;
  }

  string(field: number, value: string): this { return this.bytes(field, utf8.encode(value)); }

  message(field: number, build: (w: ProtoWriter) => void): this {
    const inner = new ProtoWriter();
    build(inner);
    return this.bytes(field, inner.finish());
  }

  float(field: number, value: number): this {
    const buffer = new Uint8Array(4);
    new DataView(buffer.buffer).setFloat32(0, value, true);
    this.tag(field, 5);
    for (const b of buffer) this.chunks.push(b);
    return this;
  }

  packedInts(field: number, values: readonly number[]): this {
    const inner = new ProtoWriter();
    for (const v of values) inner.varint(v);
    return this.bytes(field, inner.finish());
  }

  finish(): Uint8Array { return Uint8Array.from(this.chunks); }
}

export const TensorType = { FLOAT: 1, UINT8: 2, INT64: 7 } as const;
const AttributeType = { FLOAT: 1, INT: 2, INTS: 7 } as const;

export type Attribute = { name: string; int: number } | { name: string; ints: number[] } | { name: string; float: number };

export interface Node { op: string; inputs: string[]; outputs: string[]; name: string; attributes?: Attribute[] }
export interface Initializer { name: string; dims: number[]; type: number; raw: Uint8Array }
export interface ValueInfo { name: string; type: number; dims: number[] }
export interface Graph { name: string; nodes: Node[]; initializers: Initializer[]; inputs: ValueInfo[]; outputs: ValueInfo[] }

function writeAttribute(w: ProtoWriter, attribute: Attribute): void {
  w.string(1, attribute.name);
  if ('int' in attribute) w.int(3, attribute.int).int(20, AttributeType.INT);
  else if ('ints' in attribute) w.packedInts(8, attribute.ints).int(20, AttributeType.INTS);
  else w.float(2, attribute.float).int(20, AttributeType.FLOAT);
}

function writeNode(w: ProtoWriter, node: Node): void {
  for (const input of node.inputs) w.string(1, input);
  for (const output of node.outputs) w.string(2, output);
  w.string(3, node.name).string(4, node.op);
  for (const attribute of node.attributes ?? []) w.message(5, (a) => writeAttribute(a, attribute));
}

function writeValueInfo(w: ProtoWriter, info: ValueInfo): void {
  w.string(1, info.name).message(2, (type) => type.message(1, (tensor) => {
    tensor.int(1, info.type).message(2, (shape) => {
      for (const dim of info.dims) shape.message(1, (d) => d.int(1, dim));
    });
  }));
}

/** Serialises a ModelProto with one graph at opset `opset` of the default domain. */
export function writeModel(graph: Graph, options: { opset: number; producer: string; version: string }): Uint8Array {
  const model = new ProtoWriter();
  model.int(1, 8).string(2, options.producer).string(3, options.version);
  model.message(7, (g) => {
    for (const node of graph.nodes) g.message(1, (n) => writeNode(n, node));
    g.string(2, graph.name);
    for (const init of graph.initializers) {
      g.message(5, (t) => {
        t.packedInts(1, init.dims).int(2, init.type).string(8, init.name).bytes(9, init.raw);
      });
    }
    for (const input of graph.inputs) g.message(11, (v) => writeValueInfo(v, input));
    for (const output of graph.outputs) g.message(12, (v) => writeValueInfo(v, output));
  });
  model.message(8, (o) => o.string(1, '').int(2, options.opset));
  return model.finish();
}

export function floatsRaw(values: Float32Array): Uint8Array {
  const out = new Uint8Array(values.length * 4);
  const view = new DataView(out.buffer);
  values.forEach((v, i) => view.setFloat32(i * 4, v, true));
  return out;
}

export function int64Raw(values: readonly number[]): Uint8Array {
  const out = new Uint8Array(values.length * 8);
  const view = new DataView(out.buffer);
  values.forEach((v, i) => view.setBigInt64(i * 8, BigInt(v), true));
  return out;
}
