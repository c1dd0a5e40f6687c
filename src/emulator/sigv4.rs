//! SigV4 verification for `emulate --verify-sigv4`: the emulator re-signs the request it
//! received with the secret it knows for the request's access key (with `aws-sigv4`, the same
//! signer the SDKs use) and compares signatures. Refusals are AWS's: HTTP 403 with
//! MissingAuthenticationTokenException, UnrecognizedClientException or
//! InvalidSignatureException and the messages AWS sends.

use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use http::request::Parts;

use crate::model::service::SIGNING_NAME;

/// How far a request's X-Amz-Date may be from the emulator's clock.
pub const MAX_SKEW: Duration = Duration::from_secs(5 * 60);

/// Why a request was refused: the error name and AWS's message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub name: &'static str,
    pub message: String,
}

fn refuse(name: &'static str, message: impl Into<String>) -> Refusal {
    Refusal {
        name,
        message: message.into(),
    }
}

const INVALID_SIGNATURE: &str = "InvalidSignatureException";

/// The credentials the emulator knows and the region it serves.
#[derive(Debug, Clone)]
pub struct Verifier {
    region: String,
    /// (access key id, secret access key).
    known: Vec<(String, String)>,
}

impl Verifier {
    /// Knows the LocalStack-style pair `test`/`test`, plus `AWS_ACCESS_KEY_ID` /
    /// `AWS_SECRET_ACCESS_KEY` when both are set.
    pub fn from_env(region: &str) -> Verifier {
        let mut known = vec![("test".to_string(), "test".to_string())];
        if let (Ok(id), Ok(secret)) = (
            std::env::var("AWS_ACCESS_KEY_ID"),
            std::env::var("AWS_SECRET_ACCESS_KEY"),
        ) {
            if !id.is_empty() {
                known.insert(0, (id, secret));
            }
        }
        Verifier {
            region: region.to_string(),
            known,
        }
    }

    /// Checks the request's signature as of `now`.
    pub fn verify(&self, parts: &Parts, body: &[u8], now: SystemTime) -> Result<(), Refusal> {
        let Some(auth) = parts.headers.get(http::header::AUTHORIZATION) else {
            return Err(refuse(
                "MissingAuthenticationTokenException",
                "Missing Authentication Token",
            ));
        };
        let auth = auth.to_str().map_err(|_| incomplete())?;
        let header = parse_authorization(auth).ok_or_else(incomplete)?;
        let scope: Vec<&str> = header.credential.split('/').collect();
        let [access_key, _date, region, service, "aws4_request"] = scope[..] else {
            return Err(incomplete());
        };
        let Some((_, secret)) = self.known.iter().find(|(id, _)| id == access_key) else {
            return Err(refuse(
                "UnrecognizedClientException",
                "The security token included in the request is invalid.",
            ));
        };
        if region != self.region {
            return Err(refuse(
                INVALID_SIGNATURE,
                format!("Credential should be scoped to a valid region, not '{region}'."),
            ));
        }
        if service != SIGNING_NAME {
            return Err(refuse(
                INVALID_SIGNATURE,
                format!("Credential should be scoped to correct service: '{SIGNING_NAME}'."),
            ));
        }
        let amz_date = parts
            .headers
            .get("x-amz-date")
            .and_then(|v| v.to_str().ok())
            .ok_or_else(incomplete)?;
        let signed_at = parse_amz_date(amz_date).ok_or_else(incomplete)?;
        check_skew(amz_date, signed_at, now)?;

        let expected = self.signature(
            parts,
            body,
            header.signed_headers,
            (access_key, secret),
            signed_at,
        )?;
        if expected != header.signature {
            return Err(refuse(
                INVALID_SIGNATURE,
                "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.",
            ));
        }
        Ok(())
    }

    /// The signature of the request as the client should have signed it, over exactly the
    /// headers it signed, with the secret of `access_key`.
    fn signature(
        &self,
        parts: &Parts,
        body: &[u8],
        signed_headers: &str,
        (access_key, secret): (&str, &str),
        signed_at: SystemTime,
    ) -> Result<String, Refusal> {
        // Re-sign exactly the headers the client signed.
        let mut headers: Vec<(&str, &str)> = Vec::new();
        for name in signed_headers.split(';') {
            let Some(value) = parts.headers.get(name).and_then(|v| v.to_str().ok()) else {
                return Err(refuse(
                    INVALID_SIGNATURE,
                    format!("The request signature we calculated does not match the signature you provided: signed header {name} is missing."),
                ));
            };
            headers.push((name, value));
        }
        let host = parts
            .headers
            .get(http::header::HOST)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("localhost");
        let path = parts
            .uri
            .path_and_query()
            .map_or("/", |p| p.as_str())
            .to_string();
        let uri = format!("http://{host}{path}");
        let unsigned = parts
            .headers
            .get("x-amz-content-sha256")
            .is_some_and(|v| v.as_bytes() == b"UNSIGNED-PAYLOAD");
        let signable_body = if unsigned {
            SignableBody::UnsignedPayload
        } else {
            SignableBody::Bytes(body)
        };
        let request = SignableRequest::new(
            parts.method.as_str(),
            uri,
            headers.into_iter(),
            signable_body,
        )
        .map_err(|_| incomplete())?;
        let identity = Credentials::new(access_key, secret, None, None, "emulator").into();
        let mut settings = SigningSettings::default();
        // The client chose what to sign; sign the same set.
        settings.excluded_headers = None;
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name(SIGNING_NAME)
            .time(signed_at)
            .settings(settings)
            .build()
            .map_err(|_| incomplete())?
            .into();
        let expected = sign(request, &params)
            .map_err(|_| incomplete())?
            .signature()
            .to_string();
        Ok(expected)
    }
}

fn incomplete() -> Refusal {
    refuse(
        "IncompleteSignatureException",
        "Authorization header requires 'Credential', 'Signature', 'SignedHeaders' and an X-Amz-Date header, signed with AWS4-HMAC-SHA256.",
    )
}

struct AuthorizationHeader<'a> {
    credential: &'a str,
    signed_headers: &'a str,
    signature: &'a str,
}

/// `AWS4-HMAC-SHA256 Credential=.../aws4_request, SignedHeaders=a;b, Signature=hex`.
fn parse_authorization(value: &str) -> Option<AuthorizationHeader<'_>> {
    let rest = value.strip_prefix("AWS4-HMAC-SHA256")?.trim_start();
    let (mut credential, mut signed_headers, mut signature) = (None, None, None);
    for part in rest.split(',') {
        let (k, v) = part.trim().split_once('=')?;
        match k {
            "Credential" => credential = Some(v),
            "SignedHeaders" => signed_headers = Some(v),
            "Signature" => signature = Some(v),
            _ => {}
        }
    }
    Some(AuthorizationHeader {
        credential: credential?,
        signed_headers: signed_headers?,
        signature: signature?,
    })
}

/// `20250101T120000Z`.
fn parse_amz_date(value: &str) -> Option<SystemTime> {
    let t = chrono::NaiveDateTime::parse_from_str(value, "%Y%m%dT%H%M%SZ").ok()?;
    let secs = u64::try_from(t.and_utc().timestamp()).ok()?;
    Some(SystemTime::UNIX_EPOCH + Duration::from_secs(secs))
}

fn amz_date(t: SystemTime) -> String {
    chrono::DateTime::<chrono::Utc>::from(t)
        .format("%Y%m%dT%H%M%SZ")
        .to_string()
}

fn check_skew(sent: &str, signed_at: SystemTime, now: SystemTime) -> Result<(), Refusal> {
    let minutes = MAX_SKEW.as_secs() / 60;
    if signed_at + MAX_SKEW < now {
        return Err(refuse(
            INVALID_SIGNATURE,
            format!(
                "Signature expired: {sent} is now earlier than {} ({} - {minutes} min.)",
                amz_date(now - MAX_SKEW),
                amz_date(now)
            ),
        ));
    }
    if signed_at > now + MAX_SKEW {
        return Err(refuse(
            INVALID_SIGNATURE,
            format!(
                "Signature not yet current: {sent} is still later than {} ({} + {minutes} min.)",
                amz_date(now + MAX_SKEW),
                amz_date(now)
            ),
        ));
    }
    Ok(())
}
