/**
 * A table of JSON values in which every distinct subtree is stored once: the compact form of many
 * packages' fields, most of which repeat each other (`ocaml {>= "4.08"}`, `dune {>= "3.0"}`, the
 * `available:` of a family, the shape of every formula node).
 *
 * A value is a number, its id in the table. Its node is a run of int32 in `data`, from `offsets[id]`:
 * `STRING s` (string `s`), `NUMBER n` (`numbers[n]`), `TRUE`, `FALSE`, `NULL`, `ARRAY ids…`, or
 * `OBJECT + shape, ids…` for an object whose keys are `shapes[shape]`. Children come before their
 * parents. The int32 runs and the strings travel as binary (typed-array views and UTF-8 bytes with
 * their offsets: nothing to parse, a string decoded when first read); the numbers and shapes as JSON.
 *
 * Decoding is lazy and memoised: `ValueReader.value(id)` builds a subtree the first time it is read,
 * and two reads of equal subtrees give the same object. The objects are frozen: a value read from the
 * table is shared by every package that has it, so nobody may change it.
 */

import { Buffer } from 'node:buffer';

const STRING = -1;
const NUMBER = -2;
const TRUE = -3;
const FALSE = -4;
const NULL = -5;
const ARRAY = 0;
const OBJECT = 1;

/**
 * The JSON part of a table. `body` holds, as int32, the node offsets (count + 1), the nodes (`data`
 * of them) and the string offsets (`strings` + 1, in bytes), then the strings' UTF-8 bytes.
 */
export interface ValueTableHead {
  count: number;
  data: number;
  strings: number;
  numbers: number[];
  shapes: string[][];
}

export class ValueTableWriter {
  private readonly strings: string[] = [];
  private readonly stringIds = new Map<string, number>();
  private readonly numbers: number[] = [];
  private readonly shapes: string[][] = [];
  private readonly shapeIds = new Map<string, number>();
  private readonly data: number[] = [];
  private readonly offsets: number[] = [];
  private readonly ids = new Map<string, number>();

  /** The id of `value` (any JSON value; `undefined` object fields are left out, as JSON does). */
  add(value: unknown): number {
    if (value === null) return this.node('n', [NULL]);
    if (value === true) return this.node('t', [TRUE]);
    if (value === false) return this.node('f', [FALSE]);
    if (typeof value === 'number') {
      let k = this.numbers.indexOf(value);
      if (k < 0) k = this.numbers.push(value) - 1;
      return this.node(`#${k}`, [NUMBER, k]);
    }
    if (typeof value === 'string') {
      let s = this.stringIds.get(value);
      if (s === undefined) {
        s = this.strings.push(value) - 1;
        this.stringIds.set(value, s);
      }
      return this.node(`s${s}`, [STRING, s]);
    }
    if (Array.isArray(value)) {
      const children = value.map((v) => this.add(v === undefined ? null : v));
      return this.node(`a${children.join(',')}`, [ARRAY, ...children]);
    }
    if (typeof value === 'object') {
      const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
      const keys = entries.map(([k]) => k);
      const shapeKey = keys.join('\0');
      let shape = this.shapeIds.get(shapeKey);
      if (shape === undefined) {
        shape = this.shapes.push(keys) - 1;
        this.shapeIds.set(shapeKey, shape);
      }
      const children = entries.map(([, v]) => this.add(v));
      return this.node(`o${shape}:${children.join(',')}`, [OBJECT + shape, ...children]);
    }
    throw new TypeError(`value table: cannot store a ${typeof value}`);
  }

  private node(key: string, run: number[]): number {
    let id = this.ids.get(key);
    if (id === undefined) {
      id = this.offsets.push(this.data.length) - 1;
      for (const x of run) this.data.push(x);
      this.ids.set(key, id);
    }
    return id;
  }

  /** The table: its JSON head and its binary body. */
  encode(): { head: ValueTableHead; body: Uint8Array } {
    const count = this.offsets.length;
    const text = Buffer.from(this.strings.join(''), 'utf8');
    const ints = new Int32Array(count + 1 + this.data.length + this.strings.length + 1);
    ints.set(this.offsets, 0);
    ints[count] = this.data.length;
    ints.set(this.data, count + 1);
    let at = count + 1 + this.data.length;
    let bytes = 0;
    for (const str of this.strings) {
      ints[at++] = bytes;
      bytes += Buffer.byteLength(str, 'utf8');
    }
    ints[at] = bytes;
    const body = new Uint8Array(ints.byteLength + text.length);
    body.set(new Uint8Array(ints.buffer), 0);
    body.set(text, ints.byteLength);
    return { head: { count, data: this.data.length, strings: this.strings.length, numbers: this.numbers, shapes: this.shapes }, body };
  }
}

export class ValueReader {
  private readonly memo: unknown[];
  private readonly offsets: Int32Array;
  private readonly data: Int32Array;
  private readonly stringOffsets: Int32Array;
  private readonly text: Buffer;
  private readonly strings: (string | undefined)[];

  /** `body` must start at a multiple of 4 bytes in its buffer (`cache-file.ts` gives it so). */
  constructor(
    private readonly head: ValueTableHead,
    body: Uint8Array,
  ) {
    const intCount = head.count + 1 + head.data + head.strings + 1;
    if (!(intCount * 4 <= body.byteLength)) throw new RangeError('value table: truncated');
    const ints = new Int32Array(body.buffer, body.byteOffset, intCount);
    if (ints[head.count] !== head.data) throw new RangeError('value table: truncated');
    this.offsets = ints.subarray(0, head.count + 1);
    this.data = ints.subarray(head.count + 1, head.count + 1 + head.data);
    this.stringOffsets = ints.subarray(head.count + 1 + head.data);
    this.text = Buffer.from(body.buffer, body.byteOffset + intCount * 4, body.byteLength - intCount * 4);
    if (this.stringOffsets[head.strings] !== this.text.length) throw new RangeError('value table: truncated');
    this.memo = new Array<unknown>(head.count);
    this.strings = new Array<string | undefined>(head.strings);
  }

  private string(s: number): string {
    let str = this.strings[s];
    if (str === undefined) {
      str = this.text.toString('utf8', this.stringOffsets[s], this.stringOffsets[s + 1]);
      this.strings[s] = str;
    }
    return str;
  }

  value(id: number): unknown {
    if (!(id >= 0 && id < this.head.count)) throw new RangeError(`value table: no value ${id}`);
    const at = this.offsets[id];
    const end = this.offsets[id + 1];
    const tag = this.data[at];
    switch (tag) {
      case STRING:
        return this.string(this.data[at + 1]);
      case NUMBER:
        return this.head.numbers[this.data[at + 1]];
      case TRUE:
        return true;
      case FALSE:
        return false;
      case NULL:
        return null;
    }
    const known = this.memo[id];
    if (known !== undefined) return known;
    let out: unknown;
    if (tag === ARRAY) {
      const arr: unknown[] = new Array(end - at - 1);
      for (let k = at + 1; k < end; k++) arr[k - at - 1] = this.value(this.data[k]);
      out = Object.freeze(arr);
    } else {
      const keys = this.head.shapes[tag - OBJECT];
      if (keys === undefined || keys.length !== end - at - 1) throw new RangeError(`value table: value ${id} has a bad shape`);
      const obj: Record<string, unknown> = {};
      for (let k = 0; k < keys.length; k++) obj[keys[k]] = this.value(this.data[at + 1 + k]);
      out = Object.freeze(obj);
    }
    this.memo[id] = out;
    return out;
  }
}
