//! Documents and their two renderings. JSON is the "Spark convention" mapping of the XML: the
//! outer collection element disappears and the response is an array, even for one element; only
//! the service definition is an object.

use std::io::Cursor;

use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};
use serde_json::{Map, Number, Value as Json};

/// Response format, chosen by the path extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Xml,
    Json,
}

impl Format {
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Xml => "text/xml; charset=utf-8",
            Format::Json => "application/json; charset=utf-8",
        }
    }

    /// Splits `requests.json` into `("requests", Json)`; `None` without a known extension.
    pub fn split(segment: &str) -> Option<(&str, Format)> {
        let (stem, ext) = segment.rsplit_once('.')?;
        let f = match ext.to_ascii_lowercase().as_str() {
            "xml" => Format::Xml,
            "json" => Format::Json,
            _ => return None,
        };
        (!stem.is_empty()).then_some((stem, f))
    }
}

/// A field value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Str(String),
    Bool(bool),
    Int(i64),
    Num(f64),
    /// Repeated child elements named `item` inside the field's element (a JSON array).
    List {
        item: &'static str,
        items: Vec<Value>,
    },
    Obj(Record),
    /// Present but empty: an empty element in XML, `null` in JSON.
    Null,
}

impl Value {
    pub fn str(s: impl Into<String>) -> Value {
        Value::Str(s.into())
    }

    pub fn opt(s: Option<impl Into<String>>) -> Value {
        s.map_or(Value::Null, |s| Value::Str(s.into()))
    }
}

/// An element with ordered fields.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Record(pub Vec<(&'static str, Value)>);

impl Record {
    pub fn new() -> Record {
        Record(Vec::new())
    }

    pub fn with(mut self, name: &'static str, v: Value) -> Record {
        self.0.push((name, v));
        self
    }

    pub fn push(&mut self, name: &'static str, v: Value) {
        self.0.push((name, v));
    }

    pub fn get(&self, name: &str) -> Option<&Value> {
        self.0.iter().find(|(n, _)| *n == name).map(|(_, v)| v)
    }
}

/// A whole response body.
#[derive(Debug, Clone, PartialEq)]
pub enum Doc {
    /// `<root><item/>…</root>` or a JSON array.
    Collection {
        root: &'static str,
        item: &'static str,
        items: Vec<Record>,
    },
    /// `<root>…</root>` or a JSON object.
    Single { root: &'static str, record: Record },
}

impl Doc {
    pub fn render(&self, f: Format) -> String {
        match f {
            Format::Json => self.to_json().to_string(),
            Format::Xml => self.to_xml(),
        }
    }

    pub fn to_json(&self) -> Json {
        match self {
            Doc::Collection { items, .. } => Json::Array(items.iter().map(record_json).collect()),
            Doc::Single { record, .. } => record_json(record),
        }
    }

    pub fn to_xml(&self) -> String {
        let mut w = Writer::new(Cursor::new(Vec::new()));
        // Writing into memory cannot fail.
        let _ = w.write_event(Event::Decl(BytesDecl::new("1.0", Some("utf-8"), None)));
        match self {
            Doc::Collection { root, item, items } => {
                open(&mut w, root);
                for r in items {
                    open(&mut w, item);
                    record_xml(&mut w, r);
                    close(&mut w, item);
                }
                close(&mut w, root);
            }
            Doc::Single { root, record } => {
                open(&mut w, root);
                record_xml(&mut w, record);
                close(&mut w, root);
            }
        }
        String::from_utf8(w.into_inner().into_inner()).unwrap_or_default()
    }
}

fn record_json(r: &Record) -> Json {
    let mut m = Map::new();
    for (k, v) in &r.0 {
        m.insert((*k).to_owned(), value_json(v));
    }
    Json::Object(m)
}

fn value_json(v: &Value) -> Json {
    match v {
        Value::Str(s) => Json::String(s.clone()),
        Value::Bool(b) => Json::Bool(*b),
        Value::Int(i) => Json::Number((*i).into()),
        Value::Num(x) => Number::from_f64(*x).map_or(Json::Null, Json::Number),
        Value::List { items, .. } => Json::Array(items.iter().map(value_json).collect()),
        Value::Obj(r) => record_json(r),
        Value::Null => Json::Null,
    }
}

type W = Writer<Cursor<Vec<u8>>>;

fn open(w: &mut W, name: &str) {
    let _ = w.write_event(Event::Start(BytesStart::new(name)));
}

fn close(w: &mut W, name: &str) {
    let _ = w.write_event(Event::End(BytesEnd::new(name)));
}

/// Escapes only `<`, `>` and `&`: quotes need no escaping in text, and the spec's own examples
/// keep them plain.
fn text(w: &mut W, s: &str) {
    let _ = w.write_event(Event::Text(BytesText::from_escaped(
        quick_xml::escape::partial_escape(s),
    )));
}

fn element(w: &mut W, name: &str, v: &Value) {
    match v {
        Value::Null => {
            let _ = w.write_event(Event::Empty(BytesStart::new(name)));
        }
        Value::Str(s) => {
            open(w, name);
            text(w, s);
            close(w, name);
        }
        Value::Bool(b) => element(w, name, &Value::Str(b.to_string())),
        Value::Int(i) => element(w, name, &Value::Str(i.to_string())),
        Value::Num(x) => element(w, name, &Value::Str(x.to_string())),
        Value::List { item, items } => {
            open(w, name);
            for i in items {
                element(w, item, i);
            }
            close(w, name);
        }
        Value::Obj(r) => {
            open(w, name);
            record_xml(w, r);
            close(w, name);
        }
    }
}

fn record_xml(w: &mut W, r: &Record) {
    for (k, v) in &r.0 {
        element(w, k, v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn services() -> Doc {
        Doc::Collection {
            root: "services",
            item: "service",
            items: vec![
                Record::new()
                    .with("service_code", Value::str("001"))
                    .with("service_name", Value::str("Cans left out 24x7"))
                    .with("metadata", Value::Bool(true))
                    .with("type", Value::str("realtime"))
                    .with("keywords", Value::str("lorem, ipsum, dolor"))
                    .with("group", Value::str("sanitation & <waste>")),
            ],
        }
    }

    #[test]
    fn json_is_an_array_with_string_codes() {
        let j = services().to_json();
        assert!(j.is_array());
        assert_eq!(j[0]["service_code"], "001");
        assert_eq!(j[0]["metadata"], true);
    }

    #[test]
    fn xml_has_the_spec_shape_and_escapes_text() {
        let x = services().to_xml();
        assert!(
            x.starts_with(r#"<?xml version="1.0" encoding="utf-8"?><services><service><service_code>001</service_code>"#),
            "{x}"
        );
        assert!(x.contains("<metadata>true</metadata>"));
        assert!(
            x.contains("<group>sanitation &amp; &lt;waste&gt;</group>"),
            "{x}"
        );
        assert!(x.ends_with("</service></services>"));
    }

    #[test]
    fn nested_lists_and_empty_fields() {
        let d = Doc::Single {
            root: "service_definition",
            record: Record::new()
                .with("service_code", Value::str("DMV66"))
                .with(
                    "attributes",
                    Value::List {
                        item: "attribute",
                        items: vec![Value::Obj(
                            Record::new().with("code", Value::str("WHISDORN")).with(
                                "values",
                                Value::List {
                                    item: "value",
                                    items: vec![Value::Obj(
                                        Record::new()
                                            .with("key", Value::str("123"))
                                            .with("name", Value::str("Ford")),
                                    )],
                                },
                            ),
                        )],
                    },
                )
                .with("note", Value::Null),
        };
        let x = d.to_xml();
        assert!(x.contains("<attributes><attribute><code>WHISDORN</code><values><value><key>123</key><name>Ford</name></value></values></attribute></attributes><note/>"), "{x}");
        let j = d.to_json();
        assert!(j.is_object());
        assert_eq!(j["attributes"][0]["values"][0]["name"], "Ford");
        assert!(j["note"].is_null());
    }

    #[test]
    fn formats_from_extensions() {
        assert_eq!(
            Format::split("requests.json"),
            Some(("requests", Format::Json))
        );
        assert_eq!(Format::split("033.XML"), Some(("033", Format::Xml)));
        assert_eq!(Format::split("requests.rss"), None);
        assert_eq!(Format::split("requests"), None);
    }
}
