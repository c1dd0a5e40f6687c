//! DescribeBackups' success read straight from its JSON text into the members the checker
//! compares ([`ListedBackups`]), checking the service model's shape on the way: the common path
//! of the largest answers, without a JSON value (a map per backup). An answer that does not fit
//! is left to the JSON value path, which words its problems.

use std::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::Number;

use super::shape::{misfit, Compiled, Fits, MemberOf};
use crate::model::{BackupStatus, BackupType, ListedBackup, ListedBackups, Operation};

/// DescribeBackups' answer `text` when it is a JSON object that fits the service model (no
/// problem [`super::shape::check_output`] would report), else None.
pub(super) fn read(text: &str) -> Option<ListedBackups> {
    let shapes = Compiled::get();
    let node = shapes.output(Operation::DescribeBackups)?;
    let mut de = serde_json::Deserializer::from_str(text);
    let entries = Answer(Fits { shapes, node }).deserialize(&mut de).ok()?;
    de.end().ok()?;
    Some(ListedBackups {
        entries,
        text: text.into(),
    })
}

/// The answer object: `Backups` kept, its other members checked.
struct Answer(Fits);

impl<'de> DeserializeSeed<'de> for Answer {
    type Value = Option<Vec<ListedBackup>>;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Answer {
    type Value = Option<Vec<ListedBackup>>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a DescribeBackups answer")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut entries = None;
        let mut seen = false;
        while let Some((name, node)) = map.next_key_seed(MemberOf(self.0))? {
            let at = Fits { node, ..self.0 };
            if name != "Backups" {
                map.next_value_seed(at)?;
            } else if std::mem::replace(&mut seen, true) {
                // JSON keeps the last of two; the value path words that.
                return Err(misfit());
            } else {
                entries = map.next_value_seed(Entries(at))?;
            }
        }
        Ok(entries)
    }
}

/// `Backups`: null, or a list of backups.
struct Entries(Fits);

impl<'de> DeserializeSeed<'de> for Entries {
    type Value = Option<Vec<ListedBackup>>;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Entries {
    type Value = Option<Vec<ListedBackup>>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of backups")
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let Some(node) = self.0.shapes.item(self.0.node) else {
            return Err(misfit());
        };
        let mut entries = Vec::new();
        while let Some(entry) = seq.next_element_seed(Entry(Fits { node, ..self.0 }))? {
            entries.push(entry);
        }
        Ok(Some(entries))
    }
}

/// One listed backup (null reads as a backup without members, as a JSON value shows it).
struct Entry(Fits);

impl<'de> DeserializeSeed<'de> for Entry {
    type Value = ListedBackup;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<ListedBackup, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Entry {
    type Value = ListedBackup;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a backup")
    }
    fn visit_unit<E: de::Error>(self) -> Result<ListedBackup, E> {
        Ok(ListedBackup::default())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ListedBackup, A::Error> {
        let mut b = ListedBackup::default();
        let mut seen = 0u8;
        while let Some((name, node)) = map.next_key_seed(MemberOf(self.0))? {
            let at = Fits { node, ..self.0 };
            let bit = match name {
                "BackupId" => 1,
                "ServerName" => 2,
                "BackupType" => 4,
                "Status" => 8,
                "Description" => 16,
                "CreatedAt" => 32,
                _ => 0,
            };
            if seen & bit != 0 {
                return Err(misfit());
            }
            seen |= bit;
            match name {
                "BackupId" => b.id = map.next_value_seed(Text(at, owned))?,
                "ServerName" => b.server = map.next_value_seed(Text(at, owned))?,
                "Description" => b.description = map.next_value_seed(Text(at, owned))?,
                "BackupType" => b.kind = map.next_value_seed(Text(at, backup_type))?,
                "Status" => b.status = map.next_value_seed(Text(at, BackupStatus::parse))?,
                "CreatedAt" => b.created_at = map.next_value_seed(Time(at))?,
                _ => map.next_value_seed(at)?,
            }
        }
        Ok(b)
    }
}

fn owned(s: &str) -> Option<String> {
    Some(s.to_string())
}

fn backup_type(s: &str) -> Option<BackupType> {
    [BackupType::Automated, BackupType::Manual]
        .into_iter()
        .find(|k| k.as_str() == s)
}

/// A string member that fits its shape, read by the function (None for null).
struct Text<T>(Fits, fn(&str) -> Option<T>);

impl<'de, T> DeserializeSeed<'de> for Text<T> {
    type Value = Option<T>;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Option<T>, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, T> Visitor<'de> for Text<T> {
    type Value = Option<T>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }
    fn visit_unit<E: de::Error>(self) -> Result<Option<T>, E> {
        Ok(None)
    }
    fn visit_str<E: de::Error>(self, s: &str) -> Result<Option<T>, E> {
        if !self.0.shapes.string_fits(self.0.node, s) {
            return Err(misfit());
        }
        (self.1)(s).map(Some).ok_or_else(misfit)
    }
}

/// CreatedAt: epoch seconds as a JSON number (None for null).
struct Time(Fits);

impl<'de> DeserializeSeed<'de> for Time {
    type Value = Option<Number>;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Option<Number>, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Time {
    type Value = Option<Number>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("epoch seconds")
    }
    fn visit_unit<E: de::Error>(self) -> Result<Option<Number>, E> {
        Ok(None)
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Option<Number>, E> {
        self.0.visit_u64(v)?;
        Ok(Some(v.into()))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Option<Number>, E> {
        self.0.visit_i64(v)?;
        Ok(Some(v.into()))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Option<Number>, E> {
        self.0.visit_f64(v)?;
        Number::from_f64(v).map(Some).ok_or_else(misfit)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use super::*;
    use crate::wire::shape::check_output;

    fn good() -> Value {
        json!({"Backups": [
            {"BackupArn": "arn:aws:opsworks-cm:us-east-1:000000000000:backup/web-20250101000000000",
             "BackupId": "web-20250101000000000", "BackupType": "MANUAL", "CreatedAt": 1.7e9,
             "Description": "d\u{e9}\"q", "Engine": "ChefAutomate", "S3DataSize": 0,
             "SecurityGroupIds": ["sg-1"], "ServerName": "web", "Status": "IN_PROGRESS"},
            {"BackupId": "web-2", "BackupType": "AUTOMATED", "CreatedAt": 1700000001_u64,
             "ServerName": "web", "Status": "OK", "SubnetIds": []}
        ], "NextToken": "t"})
    }

    /// Every way an answer may be odd: the value path judges those.
    fn variants() -> Vec<String> {
        let g = good();
        let mut texts = vec![g.to_string(), "{}".into(), r#"{"Backups":null}"#.into()];
        let entry = |f: &dyn Fn(&mut Value)| {
            let mut v = g.clone();
            f(&mut v["Backups"][1]);
            v.to_string()
        };
        texts.extend([
            entry(&|b| b["Extra"] = json!(1)),
            entry(&|b| b["Status"] = json!("DONE")),
            entry(&|b| b["Status"] = Value::Null),
            entry(&|b| b["BackupType"] = json!(1)),
            entry(&|b| b["CreatedAt"] = json!("2025-01-01T00:00:00Z")),
            entry(&|b| b["CreatedAt"] = json!(-5)),
            entry(&|b| b["S3DataSize"] = json!(1.5)),
            entry(&|b| b["S3DataSize"] = json!(u64::MAX)),
            entry(&|b| b["S3DataSize"] = json!(-3)),
            entry(&|b| b["SubnetIds"] = json!([1])),
            entry(&|b| b["SubnetIds"] = json!([null])),
            entry(&|b| b["BackupId"] = json!("x".repeat(80))),
            entry(&|b| b["BackupId"] = json!("\u{e9}".repeat(79))),
            entry(&|b| b["Description"] = Value::Null),
            entry(&|b| *b = Value::Null),
            entry(&|b| *b = json!([])),
        ]);
        texts.extend([
            r#"{"Backups":[{"BackupId":"a","BackupId":"b"}]}"#.into(),
            r#"{"Backups":[],"Backups":[{"BackupId":"b"}]}"#.into(),
            r#"{"Backups":[{"Back\u0075pId":"a\nb"}]}"#.into(),
            r#"{"Backups":[],"__type":"X"}"#.into(),
            r#"{"Backups":{}}"#.into(),
            r#"{"Backups":[]} x"#.into(),
            "[]".into(),
            "null".into(),
        ]);
        texts
    }

    #[test]
    fn an_answer_is_read_exactly_when_its_value_fits_the_service_model_and_as_it_shows() {
        for text in variants() {
            let value: Option<Value> = serde_json::from_str(&text).ok();
            let fits = value.as_ref().is_some_and(|v| {
                v.is_object()
                    && v.get("__type").is_none()
                    && check_output(Operation::DescribeBackups, v).is_empty()
            });
            let read = read(&text);
            // A member named twice is left to the value path (which keeps the last one).
            let twice =
                text.contains(r#""BackupId":"a","BackupId""#) || text.contains("[],\"Backups");
            assert_eq!(read.is_some(), fits && !twice, "{text}");
            let (Some(read), Some(value)) = (read, value) else {
                continue;
            };
            let listed = value["Backups"].as_array();
            assert_eq!(read.entries.as_ref().map(Vec::len), listed.map(Vec::len));
            for (b, v) in read
                .entries
                .iter()
                .flatten()
                .zip(listed.into_iter().flatten())
            {
                assert_eq!(b.id.as_deref(), v["BackupId"].as_str(), "{text}");
                assert_eq!(b.server.as_deref(), v["ServerName"].as_str());
                assert_eq!(b.kind.map(BackupType::as_str), v["BackupType"].as_str());
                assert_eq!(b.status.map(BackupStatus::as_str), v["Status"].as_str());
                assert_eq!(b.description.as_deref(), v["Description"].as_str());
                assert_eq!(b.created_at.as_ref(), v["CreatedAt"].as_number());
            }
            assert_eq!(read.to_value(), value);
        }
    }
}
