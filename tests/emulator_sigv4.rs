//! The emulator's SigV4 verification: a correctly signed request passes, bad signatures are
//! refused as AWS refuses them.

use crate::common::*;

mod sigv4 {
    use super::*;
    use aws_credential_types::Credentials;
    use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
    use aws_sigv4::sign::v4;

    const BODY: &str = r#"{"ServerName": "web"}"#;

    fn signed(key: &str, region: &str, at: SystemTime, body: &str) -> Request<Body> {
        let mut request = Request::post("/")
            .header("host", "localhost:4566")
            .header("content-type", wire::AWS_JSON_CONTENT_TYPE)
            .header("x-amz-target", format!("{TARGET}.DescribeServers"))
            .body(body.to_string())
            .unwrap();
        let headers: Vec<(String, String)> = request
            .headers()
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_str().unwrap().to_string()))
            .collect();
        let identity = Credentials::new(key, "test", None, None, "test").into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(region)
            .name("opsworks-cm")
            .time(at)
            .settings(SigningSettings::default())
            .build()
            .unwrap()
            .into();
        let signable = SignableRequest::new(
            "POST",
            "http://localhost:4566/",
            headers.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            SignableBody::Bytes(body.as_bytes()),
        )
        .unwrap();
        let (instructions, _) = sign(signable, &params).unwrap().into_parts();
        instructions.apply_to_request_http1x(&mut request);
        request.map(Body::from)
    }

    fn client() -> Client {
        Client::new(EmulatorConfig {
            verify_sigv4: true,
            ..config()
        })
    }

    #[tokio::test]
    async fn a_correctly_signed_request_passes() {
        let c = client();
        c.put_server("web", json!({"Status": "HEALTHY"})).await;
        let a = c
            .send(signed("test", "us-east-1", SystemTime::now(), BODY))
            .await;
        assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
        assert_eq!(a.body["Servers"][0]["ServerName"], "web");
    }

    #[tokio::test]
    async fn bad_signatures_are_refused_like_aws() {
        let c = client();
        c.put_server("web", json!({"Status": "HEALTHY"})).await;
        let now = SystemTime::now();
        let mut tampered = signed("test", "us-east-1", now, BODY);
        let auth = tampered.headers()["authorization"]
            .to_str()
            .unwrap()
            .to_string();
        let flipped = if auth.ends_with('0') { '1' } else { '0' };
        let auth = format!("{}{flipped}", &auth[..auth.len() - 1]);
        tampered
            .headers_mut()
            .insert("authorization", auth.parse().unwrap());
        let mut changed_body = signed("test", "us-east-1", now, BODY);
        *changed_body.body_mut() = Body::from(r#"{"ServerName": "db"}"#);
        let unsigned = Request::post("/")
            .header("x-amz-target", format!("{TARGET}.DescribeServers"))
            .body(Body::from(BODY))
            .unwrap();
        let cases = [
            (
                tampered,
                "InvalidSignatureException",
                "The request signature we calculated does not match",
            ),
            (
                changed_body,
                "InvalidSignatureException",
                "The request signature we calculated does not match",
            ),
            (
                signed("test", "eu-west-1", now, BODY),
                "InvalidSignatureException",
                "Credential should be scoped to a valid region, not 'eu-west-1'.",
            ),
            (
                signed("test", "us-east-1", now - Duration::from_secs(600), BODY),
                "InvalidSignatureException",
                "Signature expired: ",
            ),
            (
                signed("test", "us-east-1", now + Duration::from_secs(600), BODY),
                "InvalidSignatureException",
                "Signature not yet current: ",
            ),
            (
                signed("AKIDUNKNOWN", "us-east-1", now, BODY),
                "UnrecognizedClientException",
                "The security token included in the request is invalid.",
            ),
            (
                unsigned,
                "MissingAuthenticationTokenException",
                "Missing Authentication Token",
            ),
        ];
        for (request, kind, text) in cases {
            let a = c.send(request).await;
            assert_eq!(a.status, StatusCode::FORBIDDEN, "{kind}: {:?}", a.body);
            assert_eq!(a.error_type(), kind);
            let message = a.body["message"].as_str().unwrap();
            assert!(message.starts_with(text), "{message}");
            assert_aws_json(&a);
        }
        // The control plane is never signature-checked.
        let caps = c.control("GET", "/_conformance/v1/capabilities", "").await;
        assert_eq!(caps.status, StatusCode::OK);
    }
}
