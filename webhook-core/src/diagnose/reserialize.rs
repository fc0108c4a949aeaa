//! The body written back the ways a sender or a framework may have written it:
//! compact, compact with sorted keys, pretty-printed. One streaming pass each, under a
//! hard cap on the bytes written.
//!
//! Building a tree and printing it would cost memory per value and, pretty-printed,
//! indentation per line proportional to the nesting depth: a 1 MiB array nested 127
//! deep printed so is 128 MiB. Here serde_json's parser drives a visitor that writes
//! straight into the output; every byte written counts against the cap, and the pass
//! stops as soon as the cap would be exceeded. Sorting an object's members writes each
//! member to chunks of its own and then moves the chunks into key order, never copying
//! bytes, so nesting does not multiply the work; the chunks are joined once at the
//! end. Memory is the output plus the parser's depth-limited stack; the work is the
//! body plus at most twice the cap.
//!
//! Values are written as serde_json writes them: strings with its escaping, numbers
//! read as `u64`, `i64` or `f64` and printed back, 2-space indentation. With sorted
//! keys a repeated key keeps its last value, as a `serde_json::Value` does.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

/// A way of writing JSON back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Style {
    /// No whitespace, keys in the received order.
    Compact,
    /// No whitespace, each object's keys sorted (bytewise), the last of a repeated key kept.
    CompactSortedKeys,
    /// 2-space indentation, keys in the received order.
    Pretty,
}

/// What one pass produced.
pub(super) struct Rendered {
    /// The body in the style, or `None` if it is not JSON or would exceed the cap.
    pub(super) bytes: Option<Vec<u8>>,
    /// Bytes written (and, with sorted keys, joined at the end), whether or not the
    /// pass finished.
    pub(super) cost: usize,
    /// Whether the pass stopped at the cap (rather than on input that is not JSON).
    pub(super) capped: bool,
}

/// Writes `body` back in `style`, giving up once more than `cap` bytes would be
/// written.
pub(super) fn render(body: &[u8], style: Style, cap: usize) -> Rendered {
    let mut out = Out {
        done: Vec::new(),
        buf: Vec::new(),
        written: 0,
        cap,
        capped: false,
        style,
    };
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let finished = Value {
        out: &mut out,
        depth: 0,
        prefix: Prefix::None,
    }
    .deserialize(&mut deserializer)
    .and_then(|()| deserializer.end())
    .is_ok();
    let mut cost = out.written;
    let bytes = finished.then(|| {
        if out.done.is_empty() {
            return out.buf;
        }
        out.done.push(out.buf);
        let joined = out.done.concat();
        cost += joined.len();
        joined
    });
    Rendered {
        cost,
        capped: out.capped,
        bytes,
    }
}

/// The output and its budget.
struct Out {
    /// Chunks written before `buf`, in order (only sorting moves chunks here).
    done: Vec<Vec<u8>>,
    /// The chunk being written.
    buf: Vec<u8>,
    written: usize,
    cap: usize,
    capped: bool,
    style: Style,
}

/// The message of the error that stops a pass at the cap (never shown: the pass just
/// yields nothing).
const CAPPED: &str = "the re-serialization exceeds its cap";

impl Out {
    /// Counts `n` bytes against the cap.
    fn charge<E: de::Error>(&mut self, n: usize) -> Result<(), E> {
        let total = self.written.saturating_add(n);
        if total > self.cap {
            self.capped = true;
            return Err(E::custom(CAPPED));
        }
        self.written = total;
        Ok(())
    }

    fn push<E: de::Error>(&mut self, bytes: &[u8]) -> Result<(), E> {
        self.charge(bytes.len())?;
        self.buf.extend_from_slice(bytes);
        Ok(())
    }

    /// Writes a value serde_json serializes (a string, a number), counted after the
    /// fact: one token's overshoot is taken back at once.
    fn token<E: de::Error, T: serde::Serialize + ?Sized>(&mut self, value: &T) -> Result<(), E> {
        let start = self.buf.len();
        serde_json::to_writer(&mut self.buf, value).map_err(E::custom)?;
        let written = self.buf.len() - start;
        if let Err(err) = self.charge(written) {
            self.buf.truncate(start);
            return Err(err);
        }
        Ok(())
    }

    /// Appends chunks already written (and counted), moving them, not their bytes.
    fn append(&mut self, chunks: Vec<Vec<u8>>) {
        self.done.push(std::mem::take(&mut self.buf));
        self.done
            .extend(chunks.into_iter().filter(|chunk| !chunk.is_empty()));
    }

    /// A line break and the indentation for `depth`, when pretty-printing.
    fn newline<E: de::Error>(&mut self, depth: usize) -> Result<(), E> {
        if self.style != Style::Pretty {
            return Ok(());
        }
        let width = depth.saturating_mul(2);
        self.charge(width.saturating_add(1))?;
        self.buf.push(b'\n');
        self.buf.resize(self.buf.len() + width, b' ');
        Ok(())
    }
}

/// What goes before a value in its container.
#[derive(Clone, Copy)]
enum Prefix {
    /// Nothing (the top-level value, or an object member's value after its key).
    None,
    /// The first element of an array: a line break when pretty-printing.
    First,
    /// A later element: a comma, then a line break when pretty-printing.
    Next,
}

/// Writes one JSON value; the prefix is written only once the parser has found the
/// value, which is how an array's separators and line breaks land between elements.
struct Value<'o> {
    out: &'o mut Out,
    depth: usize,
    prefix: Prefix,
}

impl<'de> DeserializeSeed<'de> for Value<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl Value<'_> {
    fn start<E: de::Error>(&mut self) -> Result<(), E> {
        match self.prefix {
            Prefix::None => Ok(()),
            Prefix::First => self.out.newline(self.depth),
            Prefix::Next => {
                self.out.push(b",")?;
                self.out.newline(self.depth)
            }
        }
    }

    fn scalar<E: de::Error>(mut self, text: &[u8]) -> Result<(), E> {
        self.start()?;
        self.out.push(text)
    }

    fn token<E: de::Error, T: serde::Serialize + ?Sized>(mut self, value: &T) -> Result<(), E> {
        self.start()?;
        self.out.token(value)
    }
}

impl<'de> Visitor<'de> for Value<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("JSON")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<(), E> {
        self.scalar(if v { b"true" } else { b"false" })
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<(), E> {
        self.token(&v)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<(), E> {
        self.token(&v)
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<(), E> {
        self.token(&v)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
        self.token(v)
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.scalar(b"null")
    }

    fn visit_seq<A: SeqAccess<'de>>(mut self, mut seq: A) -> Result<(), A::Error> {
        self.start()?;
        self.out.push(b"[")?;
        let mut prefix = Prefix::First;
        let inner = self.depth + 1;
        while seq
            .next_element_seed(Value {
                out: self.out,
                depth: inner,
                prefix,
            })?
            .is_some()
        {
            prefix = Prefix::Next;
        }
        if matches!(prefix, Prefix::Next) {
            self.out.newline(self.depth)?;
        }
        self.out.push(b"]")
    }

    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<(), A::Error> {
        self.start()?;
        if self.out.style == Style::CompactSortedKeys {
            return sorted_object(self.out, self.depth, map);
        }
        self.out.push(b"{")?;
        let inner = self.depth + 1;
        let mut first = true;
        while let Some(key) = map.next_key::<KeyText>()? {
            if !first {
                self.out.push(b",")?;
            }
            first = false;
            self.out.newline(inner)?;
            self.out.token(&key.0)?;
            self.out.push(if self.out.style == Style::Pretty {
                b": "
            } else {
                b":"
            })?;
            map.next_value_seed(Value {
                out: self.out,
                depth: inner,
                prefix: Prefix::None,
            })?;
        }
        if !first {
            self.out.newline(self.depth)?;
        }
        self.out.push(b"}")
    }
}

/// An object with its members sorted by key: each member's value is written to chunks
/// of its own, which are then moved into place in key order.
fn sorted_object<'de, A: MapAccess<'de>>(
    out: &mut Out,
    depth: usize,
    mut map: A,
) -> Result<(), A::Error> {
    let mut members: Vec<(String, Vec<Vec<u8>>)> = Vec::new();
    while let Some(key) = map.next_key::<KeyText>()? {
        let outer_done = std::mem::take(&mut out.done);
        let outer_buf = std::mem::take(&mut out.buf);
        let value = map.next_value_seed(Value {
            out: &mut *out,
            depth: depth + 1,
            prefix: Prefix::None,
        });
        let mut chunks = std::mem::replace(&mut out.done, outer_done);
        chunks.push(std::mem::replace(&mut out.buf, outer_buf));
        value?;
        members.push((key.0, chunks));
    }
    // Stable: of equal keys the last comes last, and is the one kept.
    members.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    out.push(b"{")?;
    let mut first = true;
    let mut members = members.into_iter().peekable();
    while let Some((key, value)) = members.next() {
        if members.peek().is_some_and(|next| next.0 == key) {
            continue;
        }
        if !first {
            out.push(b",")?;
        }
        first = false;
        out.token(&key)?;
        out.push(b":")?;
        out.append(value);
    }
    out.push(b"}")
}

/// An object key, unescaped.
struct KeyText(String);

impl<'de> serde::Deserialize<'de> for KeyText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(KeyText)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(body: &str, style: Style) -> Option<String> {
        render(body.as_bytes(), style, usize::MAX)
            .bytes
            .map(|bytes| String::from_utf8(bytes).unwrap())
    }

    /// The three styles write what serde_json writes (its `Value` for sorted keys,
    /// whose map is a `BTreeMap` without serde_json's `preserve_order`).
    #[test]
    fn styles_match_serde_json() {
        let body = r#" {"b": [1, -2, 3.5, 1E2, "x\/y\u00e9", true, null, [], {}],
            "a": {"z": {}, "y": [[]], "\u0041": "\ud83d\ude00"}, "a": 0} "#;
        let value: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(
            text(body, Style::CompactSortedKeys).unwrap(),
            serde_json::to_string(&value).unwrap()
        );
        let ordered =
            r#"{"b":[1,-2,3.5,1E2,"x\/y\u00e9",true,null,[],{}],"a":{"z":{},"y":[[]],"A":0}}"#;
        assert_eq!(
            text(ordered, Style::Compact).unwrap(),
            r#"{"b":[1,-2,3.5,100.0,"x/yé",true,null,[],{}],"a":{"z":{},"y":[[]],"A":0}}"#
        );
        let mut expected = String::new();
        expected.push_str("{\n  \"b\": [\n    1,\n    -2,\n    3.5,\n    100.0,\n    \"x/yé\",\n");
        expected
            .push_str("    true,\n    null,\n    [],\n    {}\n  ],\n  \"a\": {\n    \"z\": {},\n");
        expected.push_str("    \"y\": [\n      []\n    ],\n    \"A\": 0\n  }\n}");
        assert_eq!(text(ordered, Style::Pretty).unwrap(), expected);
        let sorted_value: serde_json::Value = serde_json::from_str(ordered).unwrap();
        // serde_json's own pretty printer agrees on a body whose keys are sorted.
        let sorted = serde_json::to_string(&sorted_value).unwrap();
        assert_eq!(
            text(&sorted, Style::Pretty).unwrap(),
            serde_json::to_string_pretty(&sorted_value).unwrap()
        );
    }

    #[test]
    fn not_json_gives_nothing() {
        for body in ["", "{", r#"{"a":1}x"#, "[1,]", "\u{feff}{}"] {
            assert_eq!(text(body, Style::Compact), None, "{body:?}");
        }
    }

    /// A deep body pretty-printed would grow with its depth; the cap stops the pass,
    /// having written no more than the cap.
    #[test]
    fn the_cap_bounds_the_work() {
        let depth = 100;
        let body = format!(
            "{}{}{}",
            "[".repeat(depth),
            "0,".repeat(5000) + "0",
            "]".repeat(depth)
        );
        let cap = 4 * body.len();
        let pretty = render(body.as_bytes(), Style::Pretty, cap);
        assert!(pretty.bytes.is_none());
        assert!(pretty.cost <= cap, "{} > {cap}", pretty.cost);
        let compact = render(body.as_bytes(), Style::Compact, cap);
        assert_eq!(compact.bytes.as_deref(), Some(body.as_bytes()));
        assert_eq!(compact.cost, body.len());

        // Sorting moves members into place without copying them: deep objects cost
        // their size written once and joined once, at any depth.
        for depth in [1, 10, 100] {
            let nested = format!("{}1{}", r#"{"b":0,"a":"#.repeat(depth), "}".repeat(depth));
            let expected = format!(
                "{}1{}",
                r#"{"a":"#.repeat(depth),
                r#","b":0}"#.repeat(depth)
            );
            let sorted = render(nested.as_bytes(), Style::CompactSortedKeys, nested.len());
            assert_eq!(sorted.bytes.as_deref(), Some(expected.as_bytes()));
            assert_eq!(sorted.cost, 2 * nested.len());
        }
    }
}
