//! One Parquet file per trace, one row per event, for bulk analysis
//! (DuckDB, Spark, ClickHouse). Written with the `parquet` crate's
//! low-level column writer (no arrow), zstd-compressed, one row group per
//! [`GROUP_ROWS`] events (or [`GROUP_BYTES`] of values), so memory holds one
//! row group whatever the trace's size.
//!
//! Columns: run, thread, activation, depth, fn, path, line, col, kind, t
//! (ns since the session start), dur (ns, on the event that ends a stretch:
//! return, throw, await, yield) and values (JSON: `{"args":[..],"this":..}`
//! on a call, `{"value":..}` on a return, `{"error":..}` on a throw or
//! catch, `{"stream":..,"text":..}` on output), and run_id: the `runId` of
//! the `noderec.run()` the event belongs to (null outside runs; `run` is the
//! `noderec record` run of the whole trace).

use std::collections::HashMap;
use std::fs::File;
use std::sync::Arc;

use parquet::basic::{Compression, ZstdLevel};
use parquet::data_type::{ByteArray, ByteArrayType, Int32Type, Int64Type};
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::parser::parse_message_type;

use super::fields::{call_values, one_value, output_fields};
use super::stream::{Dict, Ev, Sink};
use super::Options;
use crate::error::{Error, Result};
use crate::trace::walk::CATCH_UNCAUGHT;
use crate::wire::format::{kind, RETURN_UNDEFINED};

/// Rows per row group.
pub const GROUP_ROWS: usize = 1 << 17;
/// Value bytes that close a row group early.
pub const GROUP_BYTES: usize = 64 << 20;

const SCHEMA: &str = "
message event {
  required binary run (STRING);
  required int32 thread;
  required int64 activation;
  required int32 depth;
  required binary fn (STRING);
  optional binary path (STRING);
  optional int32 line;
  optional int32 col;
  required binary kind (STRING);
  required int64 t;
  optional int64 dur;
  optional binary values (JSON);
  optional binary run_id (STRING);
}";

fn pq(e: parquet::errors::ParquetError) -> Error {
    Error::io("write parquet", std::io::Error::other(e.to_string()))
}

#[derive(Default)]
struct Columns {
    thread: Vec<i32>,
    activation: Vec<i64>,
    depth: Vec<i32>,
    func: Vec<ByteArray>,
    path: Vec<ByteArray>,
    path_def: Vec<i16>,
    line: Vec<i32>,
    col: Vec<i32>,
    place_def: Vec<i16>,
    kind: Vec<ByteArray>,
    t: Vec<i64>,
    dur: Vec<i64>,
    dur_def: Vec<i16>,
    values: Vec<ByteArray>,
    values_def: Vec<i16>,
    run_id: Vec<ByteArray>,
    run_id_def: Vec<i16>,
    value_bytes: usize,
}

/// The Parquet sink.
pub struct Parquet {
    w: Option<SerializedFileWriter<File>>,
    run: ByteArray,
    values: bool,
    c: Columns,
    /// Per thread: start of each running stretch, by activation.
    starts: HashMap<u32, Vec<(u64, u64)>>,
    /// Function id → (name, path) as Parquet strings.
    names: HashMap<u32, (ByteArray, ByteArray)>,
    kinds: Vec<ByteArray>,
    scratch: String,
    /// The last run id seen, as a Parquet string.
    last_run: Option<(std::rc::Rc<str>, ByteArray)>,
    /// Rows written.
    pub rows: u64,
}

impl Parquet {
    /// Writes to `file`; `run` fills the run column.
    pub fn new(file: File, run: &str, opts: &Options) -> Result<Self> {
        let schema = Arc::new(parse_message_type(SCHEMA).map_err(pq)?);
        let props = Arc::new(
            WriterProperties::builder()
                .set_compression(Compression::ZSTD(ZstdLevel::try_new(3).map_err(pq)?))
                .set_created_by(format!("noderec {}", env!("CARGO_PKG_VERSION")))
                .build(),
        );
        let w = SerializedFileWriter::new(file, schema, props).map_err(pq)?;
        let kinds = (0..=9u8).map(|k| ByteArray::from(if k == 9 { "uncaught" } else { kind::name(k) })).collect();
        Ok(Parquet {
            w: Some(w),
            run: ByteArray::from(run),
            values: !opts.no_values,
            c: Columns::default(),
            starts: HashMap::new(),
            names: HashMap::new(),
            kinds,
            scratch: String::new(),
            last_run: None,
            rows: 0,
        })
    }

    fn flush_group(&mut self) -> Result<()> {
        let n = self.c.t.len();
        if n == 0 {
            return Ok(());
        }
        let Some(w) = self.w.as_mut() else { return Ok(()) };
        let c = std::mem::take(&mut self.c);
        let runs = vec![self.run.clone(); n];
        let mut rg = w.next_row_group().map_err(pq)?;
        let mut i = 0;
        while let Some(mut col) = rg.next_column().map_err(pq)? {
            match i {
                0 => col.typed::<ByteArrayType>().write_batch(&runs, None, None),
                1 => col.typed::<Int32Type>().write_batch(&c.thread, None, None),
                2 => col.typed::<Int64Type>().write_batch(&c.activation, None, None),
                3 => col.typed::<Int32Type>().write_batch(&c.depth, None, None),
                4 => col.typed::<ByteArrayType>().write_batch(&c.func, None, None),
                5 => col.typed::<ByteArrayType>().write_batch(&c.path, Some(&c.path_def), None),
                6 => col.typed::<Int32Type>().write_batch(&c.line, Some(&c.place_def), None),
                7 => col.typed::<Int32Type>().write_batch(&c.col, Some(&c.place_def), None),
                8 => col.typed::<ByteArrayType>().write_batch(&c.kind, None, None),
                9 => col.typed::<Int64Type>().write_batch(&c.t, None, None),
                10 => col.typed::<Int64Type>().write_batch(&c.dur, Some(&c.dur_def), None),
                11 => col.typed::<ByteArrayType>().write_batch(&c.values, Some(&c.values_def), None),
                _ => col.typed::<ByteArrayType>().write_batch(&c.run_id, Some(&c.run_id_def), None),
            }
            .map_err(pq)?;
            col.close().map_err(pq)?;
            i += 1;
        }
        rg.close().map_err(pq)?;
        self.rows += n as u64;
        Ok(())
    }
}

impl Sink for Parquet {
    fn event(&mut self, d: &Dict, e: &Ev) -> Result<()> {
        if e.kind == kind::MARK {
            // Runs, spans and logs: only the jsonl export shows them.
            return Ok(());
        }
        let starts = self.starts.entry(e.thread).or_default();
        let mut dur = None;
        match e.kind {
            kind::CALL | kind::RESUME => starts.push((e.activation, e.t_ns)),
            kind::RETURN | kind::THROW | kind::AWAIT | kind::YIELD
                if starts.last().is_some_and(|&(a, _)| a == e.activation) =>
            {
                dur = starts.pop().map(|(_, t0)| e.t_ns.saturating_sub(t0));
            }
            _ => {}
        }
        // Await, yield and resume point at the site; the rest at the function.
        let at = match e.kind {
            kind::AWAIT | kind::YIELD | kind::RESUME => e.site.or(e.func),
            _ => e.func,
        };
        match &e.run {
            Some(r) => {
                let hit = self.last_run.as_ref().filter(|(k, _)| std::rc::Rc::ptr_eq(k, r) || **k == **r);
                let v = match hit {
                    Some((_, v)) => v.clone(),
                    None => {
                        let v = ByteArray::from(&**r);
                        self.last_run = Some((r.clone(), v.clone()));
                        v
                    }
                };
                self.c.run_id.push(v);
                self.c.run_id_def.push(1);
            }
            None => self.c.run_id_def.push(0),
        }
        let c = &mut self.c;
        c.thread.push(e.thread as i32);
        c.activation.push(e.activation as i64);
        c.depth.push(e.depth as i32);
        match e.func.and_then(|f| d.funcs.get(&f).map(|x| (f, x))) {
            Some((id, f)) => {
                let (name, path) = self
                    .names
                    .entry(id)
                    .or_insert_with(|| (ByteArray::from(f.name.as_str()), ByteArray::from(d.path_of(f))));
                c.func.push(name.clone());
                c.path.push(path.clone());
                c.path_def.push(1);
            }
            None => {
                c.func.push(ByteArray::from("<unknown>"));
                c.path_def.push(0);
            }
        }
        match at.and_then(|f| d.funcs.get(&f)) {
            Some(f) => {
                c.line.push(f.line as i32);
                c.col.push(f.col as i32 + 1);
                c.place_def.push(1);
            }
            None => c.place_def.push(0),
        }
        let k = if e.kind == kind::CATCH && e.payload == CATCH_UNCAUGHT { 9 } else { e.kind as usize };
        c.kind.push(self.kinds.get(k).cloned().unwrap_or_else(|| ByteArray::from("unknown")));
        c.t.push(e.t_ns as i64);
        match dur {
            Some(v) => {
                c.dur.push(v as i64);
                c.dur_def.push(1);
            }
            None => c.dur_def.push(0),
        }
        let s = &mut self.scratch;
        s.clear();
        match e.kind {
            kind::OUTPUT => output_fields(s, e.payload, e.vals.as_ref().map_or(&[][..], |b| b.bytes())),
            _ if !self.values => {}
            kind::CALL => {
                if let Some(b) = &e.vals {
                    call_values(s, b.span());
                }
            }
            kind::RETURN => match &e.vals {
                Some(b) => one_value(s, "value", b.span()),
                None if e.payload == RETURN_UNDEFINED => s.push_str(",\"value\":{\"$\":\"undefined\"}"),
                None => {}
            },
            kind::CATCH | kind::THROW => {
                if let Some(b) = e.error.as_ref().or(e.vals.as_ref()) {
                    one_value(s, "error", b.span());
                }
            }
            _ => {}
        }
        if s.is_empty() {
            c.values_def.push(0);
        } else {
            let mut json = Vec::with_capacity(s.len() + 1);
            json.push(b'{');
            json.extend_from_slice(&s.as_bytes()[1..]);
            json.push(b'}');
            c.value_bytes += json.len();
            c.values.push(ByteArray::from(json));
            c.values_def.push(1);
        }
        if c.t.len() >= GROUP_ROWS || c.value_bytes >= GROUP_BYTES {
            self.flush_group()?;
        }
        Ok(())
    }

    fn finish(&mut self, _d: &Dict, _end_ns: u64) -> Result<()> {
        self.flush_group()?;
        if let Some(w) = self.w.take() {
            w.close().map_err(pq)?;
        }
        Ok(())
    }
}
