//! An independent AWS Signature Version 4 verifier, for checking what the host signed.
//!
//! It recomputes the signature of a received request from its method, path, query, the headers
//! named in `SignedHeaders`, the body and the `x-amz-date` it carries, with known test
//! credentials, and compares it with the `Authorization` header. It shares no code with the
//! host's signer (which uses the AWS SDK's `aws-sigv4`): it follows the published algorithm,
//! and its own unit test checks it against AWS's published `get-vanilla` test vector.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use crate::RecordedRequest;

/// The parts of an `Authorization: AWS4-HMAC-SHA256 ...` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization {
    /// Access key id.
    pub access_key: String,
    /// `YYYYMMDD`.
    pub date: String,
    /// Signing region.
    pub region: String,
    /// Signing service name.
    pub service: String,
    /// Lower-case header names, in order.
    pub signed_headers: Vec<String>,
    /// Hex signature.
    pub signature: String,
}

/// Parses an `Authorization` header value.
pub fn parse_authorization(value: &str) -> Result<Authorization, String> {
    let rest = value
        .strip_prefix("AWS4-HMAC-SHA256 ")
        .ok_or_else(|| format!("not a SigV4 authorization: {value}"))?;
    let mut credential = None;
    let mut signed = None;
    let mut signature = None;
    for part in rest.split(',') {
        let (key, val) = part
            .trim()
            .split_once('=')
            .ok_or_else(|| format!("malformed part {part:?}"))?;
        match key {
            "Credential" => credential = Some(val),
            "SignedHeaders" => signed = Some(val),
            "Signature" => signature = Some(val),
            other => return Err(format!("unexpected part {other}")),
        }
    }
    let credential = credential.ok_or("no Credential")?;
    let scope: Vec<&str> = credential.split('/').collect();
    let [access_key, date, region, service, "aws4_request"] = scope[..] else {
        return Err(format!("malformed credential scope {credential}"));
    };
    Ok(Authorization {
        access_key: access_key.to_owned(),
        date: date.to_owned(),
        region: region.to_owned(),
        service: service.to_owned(),
        signed_headers: signed
            .ok_or("no SignedHeaders")?
            .split(';')
            .map(str::to_owned)
            .collect(),
        signature: signature.ok_or("no Signature")?.to_owned(),
    })
}

/// Checks `request`'s signature with `secret_key`. Returns the parsed authorization on
/// success, or what did not match.
pub fn verify(request: &RecordedRequest, secret_key: &str) -> Result<Authorization, String> {
    let auth = parse_authorization(
        request
            .header("authorization")
            .ok_or("no authorization header")?,
    )?;
    let amz_date = request.header("x-amz-date").ok_or("no x-amz-date header")?;
    if !amz_date.starts_with(&auth.date) {
        return Err(format!(
            "x-amz-date {amz_date} does not match the scope date {}",
            auth.date
        ));
    }
    if !auth.signed_headers.iter().any(|h| h == "host") {
        return Err("the host header is not signed".into());
    }
    let payload_hash = hex::encode(Sha256::digest(&request.body));
    if let Some(claimed) = request.header("x-amz-content-sha256")
        && claimed != payload_hash
    {
        return Err(format!(
            "x-amz-content-sha256 {claimed} is not the body's hash {payload_hash}"
        ));
    }
    let mut headers = String::new();
    for name in &auth.signed_headers {
        let values: Vec<String> = request
            .headers
            .get_all(name.as_str())
            .iter()
            .map(|v| collapse_spaces(v.to_str().unwrap_or("")))
            .collect();
        if values.is_empty() {
            return Err(format!("signed header {name} is missing from the request"));
        }
        headers.push_str(&format!("{name}:{}\n", values.join(",")));
    }
    let canonical = canonical_request(
        request.method.as_str(),
        request.uri.path(),
        request.uri.query().unwrap_or(""),
        &headers,
        &auth.signed_headers.join(";"),
        &payload_hash,
    );
    let expected = signature(secret_key, amz_date, &auth, &canonical);
    if expected == auth.signature {
        Ok(auth)
    } else {
        Err(format!(
            "signature mismatch: received {}, recomputed {expected}\ncanonical request:\n{canonical}",
            auth.signature
        ))
    }
}

fn canonical_request(
    method: &str,
    path: &str,
    query: &str,
    headers: &str,
    signed_headers: &str,
    payload_hash: &str,
) -> String {
    // Every service but S3 encodes the (already encoded) path once more.
    let path = if path.is_empty() {
        "/".to_owned()
    } else {
        uri_encode(path, false)
    };
    let mut pairs: Vec<(String, String)> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (
                uri_encode(&percent_decode(k), true),
                uri_encode(&percent_decode(v), true),
            )
        })
        .collect();
    pairs.sort();
    let query: Vec<String> = pairs.into_iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!(
        "{method}\n{path}\n{}\n{headers}\n{signed_headers}\n{payload_hash}",
        query.join("&")
    )
}

fn signature(secret_key: &str, amz_date: &str, auth: &Authorization, canonical: &str) -> String {
    let scope = format!(
        "{}/{}/{}/aws4_request",
        auth.date, auth.region, auth.service
    );
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
        hex::encode(Sha256::digest(canonical.as_bytes()))
    );
    let mut key = hmac(format!("AWS4{secret_key}").as_bytes(), auth.date.as_bytes());
    for part in [auth.region.as_str(), auth.service.as_str(), "aws4_request"] {
        key = hmac(&key, part.as_bytes());
    }
    hex::encode(hmac(&key, string_to_sign.as_bytes()))
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

/// RFC 3986 encoding of everything but unreserved characters (and `/` unless `slash`).
fn uri_encode(text: &str, slash: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric()
            || matches!(b, b'-' | b'.' | b'_' | b'~')
            || (b == b'/' && !slash)
        {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = bytes
            .get(i + 1..i + 3)
            .filter(|_| bytes[i] == b'%')
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        if let Some(byte) = escaped {
            out.push(byte);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn collapse_spaces(value: &str) -> String {
    value.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::{HeaderMap, HeaderValue, Method};

    /// AWS's published SigV4 test suite, case `get-vanilla`.
    #[test]
    fn verifies_the_published_get_vanilla_vector() {
        let mut headers = HeaderMap::new();
        headers.insert("host", HeaderValue::from_static("example.amazonaws.com"));
        headers.insert("x-amz-date", HeaderValue::from_static("20150830T123600Z"));
        headers.insert(
            "authorization",
            HeaderValue::from_static(
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, \
                 SignedHeaders=host;x-amz-date, \
                 Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
            ),
        );
        let mut request = RecordedRequest {
            method: Method::GET,
            uri: "/".parse().unwrap(),
            headers,
            body: Default::default(),
            at: std::time::Instant::now(),
        };
        let auth = verify(&request, "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY").expect("valid");
        assert_eq!(auth.service, "service");
        assert!(verify(&request, "wrong-secret").is_err());
        request.method = Method::POST;
        assert!(verify(&request, "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY").is_err());
    }

    #[test]
    fn paths_are_encoded_twice() {
        assert_eq!(
            uri_encode("/model/a%3A0/converse", false),
            "/model/a%253A0/converse"
        );
    }
}
