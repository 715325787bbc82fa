//! AWS Signature Version 4 on the host, with the AWS SDK's own signer.
//!
//! The request is signed last, after the guest's headers are filtered, so the signature covers
//! exactly what is sent. `x-amz-content-sha256` is added and signed: Bedrock accepts requests
//! without it, but some AWS front ends require it and it costs one hash of a body the host
//! already holds.

use std::time::SystemTime;

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    PayloadChecksumKind, SignableBody, SignableRequest, SigningSettings, sign,
};
use aws_sigv4::sign::v4;
use http::header::{HeaderMap, HeaderName, HeaderValue};
use url::Url;

use crate::plugins::bindings::http::HttpError;

/// What to sign for: the `sigv4` record of the request.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SigningScope<'a> {
    /// AWS region, e.g. `us-east-1`.
    pub region: &'a str,
    /// Service signing name, e.g. `bedrock`.
    pub service: &'a str,
}

/// Region and service names are short lower-case tokens; anything else is a plugin bug that
/// would otherwise surface as an opaque signature mismatch from AWS.
fn check_token(what: &str, value: &str) -> Result<(), HttpError> {
    let valid = !value.is_empty()
        && value.len() <= 64
        && value
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if valid {
        Ok(())
    } else {
        Err(HttpError::InvalidRequest(format!(
            "invalid sigv4 {what} '{}': expected lower-case letters, digits and '-'",
            value.escape_debug()
        )))
    }
}

/// Adds `authorization`, `x-amz-date`, `x-amz-content-sha256` and, with a session token,
/// `x-amz-security-token` to `headers`, signing `method url` with these headers and `body`.
pub(crate) fn sign_request(
    method: &str,
    url: &Url,
    headers: &mut HeaderMap,
    body: &[u8],
    credentials: &Credentials,
    scope: SigningScope<'_>,
    time: SystemTime,
) -> Result<(), HttpError> {
    check_token("region", scope.region)?;
    check_token("service", scope.service)?;

    let mut signable_headers = Vec::with_capacity(headers.len());
    for (name, value) in headers.iter() {
        let value = value.to_str().map_err(|_| {
            HttpError::InvalidRequest(format!(
                "header '{name}' is not plain ASCII and cannot be signed with sigv4"
            ))
        })?;
        signable_headers.push((name.as_str(), value));
    }

    let mut settings = SigningSettings::default();
    settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
    let identity = credentials.clone().into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(scope.region)
        .name(scope.service)
        .time(time)
        .settings(settings)
        .build()
        .map_err(|e| HttpError::InvalidRequest(format!("cannot sign request: {e}")))?
        .into();
    let signable = SignableRequest::new(
        method,
        url.as_str(),
        signable_headers.into_iter(),
        SignableBody::Bytes(body),
    )
    .map_err(|e| HttpError::InvalidRequest(format!("cannot sign request: {e}")))?;
    let (instructions, _signature) = sign(signable, &params)
        .map_err(|e| HttpError::InvalidRequest(format!("cannot sign request: {e}")))?
        .into_parts();
    let (new_headers, _query) = instructions.into_parts();
    for header in new_headers {
        let mut value = HeaderValue::from_str(header.value()).map_err(|_| {
            HttpError::InvalidRequest("the signer produced an invalid header value".to_owned())
        })?;
        // The signer only flags the session token; the signature is as good as a credential
        // for the few minutes it is valid, so keep it out of HTTP/2 header tables too.
        value.set_sensitive(header.sensitive() || header.name() == "authorization");
        headers.insert(HeaderName::from_static(header.name()), value);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn scope() -> SigningScope<'static> {
        SigningScope {
            region: "us-east-1",
            service: "bedrock",
        }
    }

    #[test]
    fn adds_the_signature_headers() {
        let url = Url::parse("https://bedrock-runtime.us-east-1.amazonaws.com/model/m:0/converse")
            .unwrap();
        let mut headers = HeaderMap::new();
        headers.insert("content-type", HeaderValue::from_static("application/json"));
        let credentials =
            Credentials::new("AKIDEXAMPLE", "secret", Some("token".into()), None, "t");
        // 2015-08-30T12:36:00Z, the date of the AWS SigV4 test suite.
        let time = SystemTime::UNIX_EPOCH + Duration::from_secs(1_440_938_160);
        sign_request(
            "POST",
            &url,
            &mut headers,
            b"{}",
            &credentials,
            scope(),
            time,
        )
        .unwrap();

        assert_eq!(headers["x-amz-date"], "20150830T123600Z");
        assert_eq!(
            headers["x-amz-content-sha256"],
            "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
        );
        assert_eq!(headers["x-amz-security-token"], "token");
        let authorization = headers["authorization"].to_str().unwrap();
        assert!(
            authorization.starts_with(
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/bedrock/aws4_request, \
                 SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date;x-amz-security-token, \
                 Signature="
            ),
            "{authorization}"
        );
        assert!(headers["authorization"].is_sensitive());
    }

    #[test]
    fn rejects_odd_scopes() {
        let url = Url::parse("https://example.com/").unwrap();
        let credentials = Credentials::for_tests();
        for (region, service) in [("", "bedrock"), ("us-east-1", "Bed rock"), ("us\n", "s3")] {
            let result = sign_request(
                "GET",
                &url,
                &mut HeaderMap::new(),
                b"",
                &credentials,
                SigningScope { region, service },
                SystemTime::now(),
            );
            assert!(
                matches!(result, Err(HttpError::InvalidRequest(_))),
                "{region}/{service}"
            );
        }
    }
}
