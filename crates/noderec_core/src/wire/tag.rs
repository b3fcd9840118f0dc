//! Tag bytes of the binary value form (one per row of the table in
//! `design-docs/values.md`); the TypeScript encoder's `T_*` constants are
//! checked against them (test/unit/wire-constants.test.ts).

/// `undefined`.
pub const UNDEFINED: u8 = 0x00;
/// `null`.
pub const NULL: u8 = 0x01;
/// `false`.
pub const FALSE: u8 = 0x02;
/// `true`.
pub const TRUE: u8 = 0x03;
/// Integer in the int32 range (not -0): `varint zigzag(n)`.
pub const INT: u8 = 0x04;
/// Any other number: 8 bytes IEEE-754 little endian.
pub const FLOAT: u8 = 0x05;
/// String: `str`.
pub const STRING: u8 = 0x06;
/// BigInt: `str` of the decimal digits.
pub const BIGINT: u8 = 0x07;
/// Symbol: one value, the description.
pub const SYMBOL: u8 = 0x08;
/// Function: `str` name, `u8` kind.
pub const FUNCTION: u8 = 0x09;
/// Array: `varint length`, `varint n`, `n` values.
pub const ARRAY: u8 = 0x0A;
/// Object: `str` class, `varint total`, `varint n`, `n` (`str` key, value) pairs.
pub const OBJECT: u8 = 0x0B;
/// Map: `varint size`, `varint n`, `n` (key, value) pairs.
pub const MAP: u8 = 0x0C;
/// Set: `varint size`, `varint n`, `n` values.
pub const SET: u8 = 0x0D;
/// Date: 8 bytes float64 time value.
pub const DATE: u8 = 0x0E;
/// Error: `str` class, `str` message.
pub const ERROR: u8 = 0x0F;
/// Array hole.
pub const HOLE: u8 = 0x10;
/// Accessor property: `u8` flags (1 getter, 2 setter).
pub const ACCESSOR: u8 = 0x11;
/// Proxy (never inspected).
pub const PROXY: u8 = 0x12;
/// Circular reference: `varint d` (1 = parent).
pub const CIRCULAR: u8 = 0x13;
/// Binary data: `str` type, `varint length`, `varint n`, `n` bytes.
pub const BYTES: u8 = 0x14;
/// Container below the depth bound: `str` class.
pub const TRUNCATED: u8 = 0x15;
/// Value removed by a filter: `str` type name.
pub const REDACTED: u8 = 0x16;
/// RegExp: `str` source, `str` flags.
pub const REGEXP: u8 = 0x17;
/// Opaque object (Promise, WeakMap, ...): `str` class.
pub const OPAQUE: u8 = 0x18;
/// Reference: `varint offset`, the value is the array, object, patch,
/// map or set encoded at that offset of the value bytes of the same
/// EVENTS record (before this tag).
pub const REF: u8 = 0x19;
/// Patch: `varint offset` of an `object` encoding (tag 0x0B) earlier in
/// the value bytes of the same EVENTS record, `varint k`, then `k` pairs
/// `varint index` (ascending, below the object's kept count), value: the
/// value is that object with the values of the kept pairs at those
/// indexes replaced (keys, class and counts as there).
pub const PATCH: u8 = 0x1A;
