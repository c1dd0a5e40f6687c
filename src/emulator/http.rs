//! The HTTP face of the emulator: one route for the API (awsJson 1.1 puts every operation on
//! `POST /` and names it in `X-Amz-Target`), the fixture control plane under
//! `/_conformance/v1/`, and one place where every error becomes a response ([`ApiError`]).
//!
//! | route | handler |
//! | --- | --- |
//! | `POST /` | [`api`]: decode, [`Emulator::call`], encode |
//! | `GET /_conformance/v1/capabilities` | [`capabilities`] |
//! | `POST /_conformance/v1/reset` | [`reset`] |
//! | `PUT /_conformance/v1/servers/{ServerName}` | [`put_server`] |
//! | `POST /_conformance/v1/settle` | [`settle`] |
//! | anything else | [`no_route`]: 404 with an error body |

use std::time::SystemTime;

use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use bytes::Bytes;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use serde::Deserialize;
use serde_json::{json, Value};

use super::mutants::Mutant;
use super::readings::ErrorForm;
use super::settings::CallAnswer;
use super::state::{Emulator, ModelError};
use crate::model::service::{ServiceModel, TARGET_PREFIX};
use crate::model::{self, BackupStatus, Operation, ServerSpec, ServerStatus};
use crate::wire::{self, Dialect, EncodedResponse};

/// The largest request body accepted (AWS's JSON services refuse larger ones with 413).
pub const MAX_BODY: usize = 1024 * 1024;

/// Fixture backups a control-plane call may create per type (a guard against typos like 1e9).
const MAX_FIXTURE_BACKUPS: u32 = 10_000;

/// The emulator as an axum app, for serving or for `tower::ServiceExt::oneshot` in tests.
///
/// Every answer carries a request id: the API route and the fallbacks add it themselves (the
/// API is the hot path: no boxed layer per call), the control plane through a layer.
pub fn app(emulator: Emulator) -> Router {
    let router = if emulator.settings().mutant == Some(Mutant::AlwaysSuccess) {
        Router::new().fallback(always_success)
    } else {
        let stamp = || axum::middleware::map_response(|r| async { with_request_id(r) });
        Router::new()
            .route("/", post(api))
            .route(
                "/_conformance/v1/capabilities",
                get(capabilities).layer(stamp()),
            )
            .route("/_conformance/v1/reset", post(reset).layer(stamp()))
            .route(
                "/_conformance/v1/servers/{name}",
                put(put_server).layer(stamp()),
            )
            .route("/_conformance/v1/settle", post(settle).layer(stamp()))
            .fallback(no_route)
            .method_not_allowed_fallback(no_route)
    };
    router.with_state(emulator)
}

const REQUEST_ID: HeaderName = HeaderName::from_static("x-amzn-requestid");

/// Every answer carries a request id, as AWS's do.
fn with_request_id(mut response: Response) -> Response {
    // From the thread's generator (fastrand), not a getrandom call per answer; written on the
    // stack.
    let mut text = uuid::Uuid::encode_buffer();
    let id = uuid::Builder::from_random_bytes(fastrand::u128(..).to_le_bytes())
        .into_uuid()
        .hyphenated()
        .encode_lower(&mut text);
    if let Ok(value) = HeaderValue::from_str(id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    response
}

/// How an endpoint writes its errors: the dialect, and in aws-json the form of `__type` and
/// `X-Amzn-Errortype` its readings choose.
#[derive(Debug, Clone, Copy)]
struct ErrorStyle {
    dialect: Dialect,
    form: ErrorForm,
}

impl ErrorStyle {
    fn of(emulator: &Emulator) -> ErrorStyle {
        let settings = emulator.settings();
        ErrorStyle {
            dialect: settings.dialect,
            form: settings.readings.error_form(),
        }
    }

    /// The control plane speaks one JSON error form in both dialects: it is the harness's
    /// protocol, not the service's.
    const CONTROL: ErrorStyle = ErrorStyle {
        dialect: Dialect::AwsJson,
        form: ErrorForm::PLAIN,
    };
}

/// An error answer. Built by the handlers; turned into a response only in [`IntoResponse`].
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    name: String,
    message: String,
    style: ErrorStyle,
    /// Set for errors the model decided: the protocol mutants perturb only those.
    modeled_by: Option<Option<Mutant>>,
}

impl ApiError {
    fn new(style: ErrorStyle, status: StatusCode, name: &str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            name: name.to_string(),
            message: message.into(),
            style,
            modeled_by: None,
        }
    }

    fn modeled(emulator: &Emulator, e: ModelError) -> Self {
        ApiError {
            modeled_by: Some(emulator.settings().mutant),
            ..ApiError::new(
                ErrorStyle::of(emulator),
                StatusCode::BAD_REQUEST,
                e.kind.name(),
                e.message,
            )
        }
    }

    /// A bad control-plane request.
    fn control(message: impl Into<String>) -> Self {
        ApiError::new(
            ErrorStyle::CONTROL,
            StatusCode::BAD_REQUEST,
            "ValidationException",
            message,
        )
    }

    /// The aws-json error in the endpoint's form (A12): `__type`, the message member, and
    /// `X-Amzn-Errortype`.
    fn aws_json(&self) -> Response {
        let form = self.style.form;
        let (type_name, message_key) = form.body(&self.name);
        let mut body = Vec::with_capacity(64 + self.message.len());
        body.extend_from_slice(b"{\"__type\":");
        serde_json::to_writer(&mut body, &type_name).expect("serializes");
        body.extend_from_slice(b",");
        serde_json::to_writer(&mut body, message_key).expect("serializes");
        body.extend_from_slice(b":");
        serde_json::to_writer(&mut body, &self.message).expect("serializes");
        body.extend_from_slice(b"}");
        let mut response = json_response(Dialect::AwsJson, body);
        if let Some(header) = form.header(&self.name) {
            if let Ok(value) = HeaderValue::from_maybe_shared(Bytes::from(header)) {
                response.headers_mut().insert(ERROR_TYPE, value);
            }
        }
        response
    }
}

const ERROR_TYPE: HeaderName = HeaderName::from_static("x-amzn-errortype");

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let dialect = self.style.dialect;
        let mut response = match self.modeled_by {
            Some(Some(Mutant::ErrorTypeMissing)) => {
                // The error named only in the message's text.
                let text = format!("{}: {}", self.name, self.message);
                let body = match dialect {
                    Dialect::AwsJson => json!({ "message": text }),
                    Dialect::Envelope => json!({"success": false, "error": {"message": text}}),
                };
                json_response(dialect, serde_json::to_vec(&body).expect("serializes"))
            }
            _ if dialect == Dialect::AwsJson => self.aws_json(),
            _ => to_response(wire::encode_error(dialect, &self.name, &self.message)),
        };
        *response.status_mut() = match self.modeled_by {
            Some(Some(Mutant::ErrorHttp500)) => StatusCode::INTERNAL_SERVER_ERROR,
            _ => self.status,
        };
        response
    }
}

/// A JSON body with the dialect's content type.
fn json_response(dialect: Dialect, body: Vec<u8>) -> Response {
    let mut response = Response::new(Body::from(body));
    response.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        HeaderValue::from_static(dialect.content_type()),
    );
    response
}

fn to_response(encoded: EncodedResponse) -> Response {
    let status = StatusCode::from_u16(encoded.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (status, encoded.body).into_response();
    for (name, value) in encoded.headers {
        if let Ok(value) = HeaderValue::from_str(&value) {
            response.headers_mut().insert(name, value);
        }
    }
    response
}

/// Reads the body, refusing more than [`MAX_BODY`] bytes.
async fn read_body(body: Body, style: ErrorStyle) -> Result<Bytes, ApiError> {
    match Limited::new(body, MAX_BODY).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => Err(ApiError::new(
            style,
            StatusCode::PAYLOAD_TOO_LARGE,
            "RequestEntityTooLargeException",
            format!("Request body is larger than {MAX_BODY} bytes"),
        )),
        Err(e) => Err(ApiError::new(
            style,
            StatusCode::BAD_REQUEST,
            "SerializationException",
            format!("The request body could not be read: {e}"),
        )),
    }
}

/// The operation an `X-Amz-Target` names.
///
/// A missing target is answered UnknownOperationException (HTTP 400), as AWS's awsJson services
/// answer it: without a target there is no operation to dispatch to, and the SDKs' error
/// parsers know that name. Another operation of the service gets the same error, naming it.
fn operation(headers: &HeaderMap, style: ErrorStyle) -> Result<Operation, ApiError> {
    let unknown = |message: String| {
        ApiError::new(
            style,
            StatusCode::BAD_REQUEST,
            "UnknownOperationException",
            message,
        )
    };
    let Some(target) = headers.get("x-amz-target") else {
        return Err(unknown(format!(
            "Missing X-Amz-Target header; send {TARGET_PREFIX}.<Operation>, e.g. {TARGET_PREFIX}.CreateBackup"
        )));
    };
    let target = target.to_str().unwrap_or("");
    let Some(name) = wire::parse_target(target) else {
        return Err(unknown(format!(
            "X-Amz-Target {target:?} does not name an operation of {TARGET_PREFIX}"
        )));
    };
    if let Some(op) = Operation::from_name(name) {
        return Ok(op);
    }
    let served: Vec<&str> = Operation::ALL.iter().map(|op| op.name()).collect();
    if ServiceModel::get().operation(name).is_some() {
        Err(unknown(format!(
            "Operation {name} is not supported by this emulator (it serves {})",
            served.join(", ")
        )))
    } else {
        Err(unknown(format!(
            "Unknown operation {name} (operations served: {})",
            served.join(", ")
        )))
    }
}

/// The JSON input; an empty body stands for `{}`.
fn parse_input(body: &[u8], style: ErrorStyle) -> Result<Value, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(json!({}));
    }
    serde_json::from_slice(body).map_err(|e| {
        ApiError::new(
            style,
            StatusCode::BAD_REQUEST,
            "SerializationException",
            format!("The request body is not valid JSON: {e}"),
        )
    })
}

/// `POST /`: one API call.
async fn api(State(emulator): State<Emulator>, request: Request) -> Response {
    with_request_id(call_api(emulator, request).await.into_response())
}

async fn call_api(emulator: Emulator, request: Request) -> Result<Response, ApiError> {
    let style = ErrorStyle::of(&emulator);
    let (parts, body) = request.into_parts();
    let body = read_body(body, style).await?;
    if let Some(verifier) = &emulator.settings().verifier {
        verifier
            .verify(&parts, &body, SystemTime::now())
            .map_err(|r| ApiError::new(style, StatusCode::FORBIDDEN, r.name, r.message))?;
    }
    let op = operation(&parts.headers, style)?;
    if !emulator.settings().readings.serves(op) {
        return Err(ApiError::new(
            style,
            StatusCode::BAD_REQUEST,
            "UnknownOperationException",
            format!("Operation {op} is not served by this endpoint"),
        ));
    }
    let input = parse_input(&body, style)?;
    let answer = emulator
        .call(op, input)
        .await
        .map_err(|e| ApiError::modeled(&emulator, e))?;
    let created_201 =
        emulator.settings().mutant == Some(Mutant::CreatedHttp201) && op == Operation::CreateBackup;
    Ok(encode_answer(style.dialect, answer, created_201))
}

/// A success on the wire. aws-json sends the rendered output as is; the envelope wraps it.
/// `created_201`: sent with status 201 (`created-http-201`).
fn encode_answer(dialect: Dialect, answer: CallAnswer, created_201: bool) -> Response {
    match dialect {
        Dialect::AwsJson => {
            let mut response = json_response(dialect, answer.output);
            if created_201 {
                *response.status_mut() = StatusCode::CREATED;
            }
            response
        }
        Dialect::Envelope => {
            let created = answer
                .created
                .as_ref()
                .map(|(id, at)| (id.as_str(), at.as_str()));
            let mut encoded = wire::encode_success(dialect, &answer.json(), created);
            if created_201 {
                encoded.status = 201;
            }
            to_response(encoded)
        }
    }
}

/// Anything that is neither the API nor the control plane.
async fn no_route(State(emulator): State<Emulator>, request: Request) -> Response {
    let error = ApiError::new(
        ErrorStyle::of(&emulator),
        StatusCode::NOT_FOUND,
        "UnknownOperationException",
        format!(
            "No route for {} {}: the API is POST / with X-Amz-Target: {TARGET_PREFIX}.<Operation>; the control plane is under /_conformance/v1/",
            request.method(),
            request.uri().path()
        ),
    );
    with_request_id(error.into_response())
}

/// The `always-success` stub: the seed page's example answer, whatever was asked.
async fn always_success() -> Response {
    let body =
        r#"{"success": true, "data": {"id": "abc123", "created_at": "2025-01-01T00:00:00Z"}}"#;
    with_request_id(
        (
            [(axum::http::header::CONTENT_TYPE, "application/json")],
            body,
        )
            .into_response(),
    )
}

/// A control-plane body: a JSON object (an empty body stands for `{}`).
async fn control_body(body: Body) -> Result<Value, ApiError> {
    let bytes = read_body(body, ErrorStyle::CONTROL)
        .await
        .map_err(|e| ApiError::control(e.message))?;
    let value =
        parse_input(&bytes, ErrorStyle::CONTROL).map_err(|e| ApiError::control(e.message))?;
    if !value.is_object() {
        return Err(ApiError::control(format!(
            "the body must be a JSON object, not {value}"
        )));
    }
    Ok(value)
}

/// `GET /_conformance/v1/capabilities`: always the limit served (configured, or 10 under
/// `limit-10`), mutant or not. `settleOnly` (an optional extension of version 1) says that
/// asynchronous work ends only through `settle`, never by itself, so the harness need not keep
/// the worlds where it did; `operations` (under `partial-operations-declared`) lists the
/// operations served.
async fn capabilities(State(emulator): State<Emulator>) -> Json<Value> {
    let settings = emulator.settings();
    let mut answer = json!({
        "version": 1,
        "maxManualBackups": settings.limit,
        "settleOnly": settings.backup_duration.is_none(),
    });
    if let Some(ops) = settings.readings.declared_operations() {
        answer["operations"] = json!(ops);
    }
    Json(answer)
}

/// `POST /_conformance/v1/reset`.
async fn reset(
    State(emulator): State<Emulator>,
    request: Request,
) -> Result<Json<Value>, ApiError> {
    control_body(request.into_body()).await?;
    emulator.reset();
    Ok(Json(json!({})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PutServerBody {
    #[serde(rename = "Status")]
    status: String,
    #[serde(rename = "Engine", default = "default_engine")]
    engine: String,
    #[serde(rename = "ManualBackups", default)]
    manual_backups: u32,
    #[serde(rename = "AutomatedBackups", default)]
    automated_backups: u32,
}

fn default_engine() -> String {
    "ChefAutomate".to_string()
}

/// `PUT /_conformance/v1/servers/{ServerName}`.
async fn put_server(
    State(emulator): State<Emulator>,
    name: Result<Path<String>, PathRejection>,
    request: Request,
) -> Result<Json<Value>, ApiError> {
    let Path(name) = name.map_err(|e| ApiError::control(format!("bad server name: {e}")))?;
    let violations =
        model::validation_errors(Operation::CreateBackup, &json!({ "ServerName": name }));
    if let Some(v) = violations.first() {
        return Err(ApiError::control(format!(
            "server name {name:?} is not a valid ServerName: {} (1 to 40 characters, [a-zA-Z][a-zA-Z0-9-]*)",
            v.message
        )));
    }
    let body = control_body(request.into_body()).await?;
    let body: PutServerBody = serde_json::from_value(body).map_err(|e| {
        ApiError::control(format!(
            "bad put-server body: {e} (expected {{\"Status\": \"HEALTHY\", \"Engine\": \"ChefAutomate\", \"ManualBackups\": 0, \"AutomatedBackups\": 0}})"
        ))
    })?;
    let Some(status) = ServerStatus::parse(&body.status) else {
        let known: Vec<&str> = ServerStatus::ALL.iter().map(|s| s.as_str()).collect();
        return Err(ApiError::control(format!(
            "unknown server status {:?} (one of {})",
            body.status,
            known.join(", ")
        )));
    };
    if body.engine.trim().is_empty() {
        return Err(ApiError::control("Engine must not be empty"));
    }
    for (member, n) in [
        ("ManualBackups", body.manual_backups),
        ("AutomatedBackups", body.automated_backups),
    ] {
        if n > MAX_FIXTURE_BACKUPS {
            return Err(ApiError::control(format!(
                "{member} is {n}; the control plane creates at most {MAX_FIXTURE_BACKUPS}"
            )));
        }
    }
    let server = emulator.put_server(ServerSpec {
        name,
        status,
        engine: body.engine,
        manual_backups: body.manual_backups,
        automated_backups: body.automated_backups,
    });
    Ok(Json(json!({ "Server": server })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SettleBody {
    #[serde(rename = "BackupStatus", default)]
    backup_status: Option<String>,
}

/// `POST /_conformance/v1/settle`.
async fn settle(
    State(emulator): State<Emulator>,
    request: Request,
) -> Result<Json<Value>, ApiError> {
    let body = control_body(request.into_body()).await?;
    let body: SettleBody = serde_json::from_value(body).map_err(|e| {
        ApiError::control(format!(
            "bad settle body: {e} (expected {{}} or {{\"BackupStatus\": \"OK\" | \"FAILED\"}})"
        ))
    })?;
    let status = match body.backup_status.as_deref() {
        None | Some("OK") => BackupStatus::Ok,
        Some("FAILED") => BackupStatus::Failed,
        Some(other) => {
            return Err(ApiError::control(format!(
                "a backup settles as OK or FAILED, not {other:?}"
            )))
        }
    };
    emulator.settle(status);
    Ok(Json(json!({})))
}
