//! AWS's own machine-readable model of the OpsWorks CM API (botocore `service-2.json`, vendored
//! unchanged beside this file), parsed once into shapes with their constraints.
//!
//! Both sides read constraints from here and never from memory: the model's input validation
//! (`model::validate`) and the wire layer's response-shape checks (`wire::shape`).

use std::collections::BTreeMap;
use std::sync::OnceLock;

use regex::Regex;
use serde_json::Value;

/// The raw service model, as AWS published it (Apache-2.0, from boto/botocore).
pub const SERVICE_JSON: &str = include_str!("service-2.json");

/// The awsJson 1.1 target prefix: `X-Amz-Target: OpsWorksCM_V2016_11_01.<Operation>`.
pub const TARGET_PREFIX: &str = "OpsWorksCM_V2016_11_01";
/// SigV4 signing name.
pub const SIGNING_NAME: &str = "opsworks-cm";

/// One shape of the service model, with the constraints the harness checks.
#[derive(Debug, Clone)]
pub enum Shape {
    Structure {
        /// Member name -> shape name, in the model's order.
        members: Vec<(String, String)>,
        required: Vec<String>,
    },
    List {
        member: String,
        min: Option<u64>,
        max: Option<u64>,
    },
    String {
        min: Option<u64>,
        max: Option<u64>,
        pattern: Option<Pattern>,
        enumeration: Option<Vec<String>>,
    },
    Integer {
        min: Option<i64>,
        max: Option<i64>,
    },
    Boolean,
    Timestamp,
    /// Any other type (blob, map, ...): accepted as is.
    Other,
}

/// A `pattern` constraint in its two readings: botocore's unanchored form and the whole-string
/// (anchored) form of the Smithy model (ambiguity A9).
#[derive(Debug, Clone)]
pub struct Pattern {
    pub source: String,
    /// Matches only when the whole string matches.
    pub anchored: Regex,
    /// Matches when some part of the string matches.
    pub unanchored: Regex,
}

impl Pattern {
    fn compile(source: &str) -> Option<Pattern> {
        // Java's `\p{Alnum}` is the only class in this model that Rust's regex spells otherwise.
        let rust = source.replace(r"\p{Alnum}", r"\p{Alphabetic}\p{N}");
        let anchored = Regex::new(&format!("^(?:{rust})$")).ok()?;
        let unanchored = Regex::new(&rust).ok()?;
        Some(Pattern {
            source: source.to_string(),
            anchored,
            unanchored,
        })
    }
}

/// An operation of the service model: its input and output shape names and documented errors.
#[derive(Debug, Clone)]
pub struct OperationModel {
    pub name: String,
    pub input: Option<String>,
    pub output: Option<String>,
    pub errors: Vec<String>,
}

/// The parsed service model.
#[derive(Debug)]
pub struct ServiceModel {
    pub shapes: BTreeMap<String, Shape>,
    pub operations: BTreeMap<String, OperationModel>,
}

impl ServiceModel {
    /// The model, parsed on first use. The vendored file is part of the binary, so a parse
    /// failure is a build defect, caught by the unit tests below.
    pub fn get() -> &'static ServiceModel {
        static MODEL: OnceLock<ServiceModel> = OnceLock::new();
        MODEL.get_or_init(|| {
            ServiceModel::parse(SERVICE_JSON).expect("vendored service-2.json parses")
        })
    }

    fn parse(text: &str) -> Result<ServiceModel, String> {
        let root: Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
        let raw_shapes = root["shapes"].as_object().ok_or("no shapes")?;
        let mut shapes = BTreeMap::new();
        for (name, raw) in raw_shapes {
            shapes.insert(name.clone(), parse_shape(raw));
        }
        let mut operations = BTreeMap::new();
        for (name, raw) in root["operations"].as_object().ok_or("no operations")? {
            let shape_of = |key: &str| raw[key]["shape"].as_str().map(str::to_string);
            operations.insert(
                name.clone(),
                OperationModel {
                    name: name.clone(),
                    input: shape_of("input"),
                    output: shape_of("output"),
                    errors: raw["errors"]
                        .as_array()
                        .map(|errors| {
                            errors
                                .iter()
                                .filter_map(|e| e["shape"].as_str().map(str::to_string))
                                .collect()
                        })
                        .unwrap_or_default(),
                },
            );
        }
        Ok(ServiceModel { shapes, operations })
    }

    pub fn shape(&self, name: &str) -> &Shape {
        static OTHER: Shape = Shape::Other;
        self.shapes.get(name).unwrap_or(&OTHER)
    }

    pub fn operation(&self, name: &str) -> Option<&OperationModel> {
        self.operations.get(name)
    }

    /// The values of an enum shape (e.g. `ServerStatus`), or an empty list.
    pub fn enum_values(&self, name: &str) -> Vec<String> {
        match self.shape(name) {
            Shape::String {
                enumeration: Some(values),
                ..
            } => values.clone(),
            _ => Vec::new(),
        }
    }
}

fn parse_shape(raw: &Value) -> Shape {
    let uint = |key: &str| raw[key].as_u64();
    match raw["type"].as_str().unwrap_or("") {
        "structure" => Shape::Structure {
            members: raw["members"]
                .as_object()
                .map(|members| {
                    members
                        .iter()
                        .map(|(m, v)| (m.clone(), v["shape"].as_str().unwrap_or("").to_string()))
                        .collect()
                })
                .unwrap_or_default(),
            required: raw["required"]
                .as_array()
                .map(|r| {
                    r.iter()
                        .filter_map(|v| v.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default(),
        },
        "list" => Shape::List {
            member: raw["member"]["shape"].as_str().unwrap_or("").to_string(),
            min: uint("min"),
            max: uint("max"),
        },
        "string" => Shape::String {
            min: uint("min"),
            max: uint("max"),
            pattern: raw["pattern"].as_str().and_then(Pattern::compile),
            enumeration: raw["enum"].as_array().map(|values| {
                values
                    .iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            }),
        },
        "integer" | "long" => Shape::Integer {
            min: raw["min"].as_i64(),
            max: raw["max"].as_i64(),
        },
        "boolean" => Shape::Boolean,
        "timestamp" => Shape::Timestamp,
        _ => Shape::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vendored_model_parses_with_the_constraints_the_rules_quote() {
        let model = ServiceModel::get();
        match model.shape("ServerName") {
            Shape::String {
                min, max, pattern, ..
            } => {
                assert_eq!((*min, *max), (Some(1), Some(40)));
                let p = pattern.as_ref().unwrap();
                assert!(p.anchored.is_match("web-1"));
                assert!(!p.anchored.is_match("1web"));
                assert!(p.unanchored.is_match("1web"));
            }
            other => panic!("ServerName is {other:?}"),
        }
        assert_eq!(model.enum_values("ServerStatus").len(), 13);
        let create = model.operation("CreateBackup").unwrap();
        assert_eq!(create.input.as_deref(), Some("CreateBackupRequest"));
        assert!(create
            .errors
            .contains(&"LimitExceededException".to_string()));
        match model.shape("TagKey") {
            Shape::String { pattern, .. } => {
                let p = pattern.as_ref().unwrap();
                assert!(p.anchored.is_match("Stage env_1:a/b=c+d-e@f"));
                assert!(!p.anchored.is_match("bad*key"));
            }
            other => panic!("TagKey is {other:?}"),
        }
    }
}
