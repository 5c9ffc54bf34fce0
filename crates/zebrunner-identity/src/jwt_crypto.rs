//! JWT signatures on ring: a `jsonwebtoken` crypto provider.
//!
//! `jsonwebtoken` ships two backends: aws-lc (a C library built by cmake, minutes of a fresh
//! build) and RustCrypto (20x slower to check an RS256 signature: 0.77 ms against 38 µs). ring is
//! already in the binary for TLS, and as fast as aws-lc here, so [`RING`] drives `jsonwebtoken`
//! through its provider interface. [`crate::install_crypto_provider`] installs it.
//!
//! Only what a resource server and its tests need: verification and signing for every
//! algorithm in `ACCEPTABLE_ALGORITHMS` plus HMAC, and the key helpers behind
//! `Jwk::from_encoding_key`. Reading the RSA components from a DER *public* key is not offered
//! (ring cannot parse one; nothing here needs it).

use jsonwebtoken::crypto::{CryptoProvider, JwtSigner, JwtVerifier, KeyUtils};
use jsonwebtoken::errors::{ErrorKind, Result, new_error};
use jsonwebtoken::jwk::{EllipticCurve, ThumbprintHash};
use jsonwebtoken::signature::{Error as SigError, Signer, Verifier};
use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey, DecodingKeyKind, EncodingKey};
use ring::rand::SystemRandom;
use ring::signature::{
    self as sig, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _, RsaKeyPair, UnparsedPublicKey,
};
use ring::{digest, hmac};

/// The provider: ring for every algorithm.
pub static RING: CryptoProvider = CryptoProvider {
    signer_factory: new_signer,
    verifier_factory: new_verifier,
    key_utils: KeyUtils {
        rsa_pub_components_from_private_key: rsa_components,
        rsa_pub_components_from_public_key: |_| {
            Err(ErrorKind::InvalidRsaKey("not supported with ring".into()).into())
        },
        ec_pub_components_from_private_key: ec_components,
        ed_pub_components_from_private_key: ed_component,
        compute_digest,
    },
};

/// How one algorithm signs and verifies with ring.
#[derive(Clone, Copy)]
enum Scheme {
    Hmac(hmac::Algorithm),
    Rsa(&'static dyn sig::RsaEncoding, &'static sig::RsaParameters),
    Ecdsa(
        &'static sig::EcdsaSigningAlgorithm,
        &'static sig::EcdsaVerificationAlgorithm,
    ),
    Ed25519,
}

fn scheme(alg: Algorithm) -> Result<Scheme> {
    use Algorithm::*;
    Ok(match alg {
        HS256 => Scheme::Hmac(hmac::HMAC_SHA256),
        HS384 => Scheme::Hmac(hmac::HMAC_SHA384),
        HS512 => Scheme::Hmac(hmac::HMAC_SHA512),
        RS256 => Scheme::Rsa(&sig::RSA_PKCS1_SHA256, &sig::RSA_PKCS1_2048_8192_SHA256),
        RS384 => Scheme::Rsa(&sig::RSA_PKCS1_SHA384, &sig::RSA_PKCS1_2048_8192_SHA384),
        RS512 => Scheme::Rsa(&sig::RSA_PKCS1_SHA512, &sig::RSA_PKCS1_2048_8192_SHA512),
        PS256 => Scheme::Rsa(&sig::RSA_PSS_SHA256, &sig::RSA_PSS_2048_8192_SHA256),
        PS384 => Scheme::Rsa(&sig::RSA_PSS_SHA384, &sig::RSA_PSS_2048_8192_SHA384),
        PS512 => Scheme::Rsa(&sig::RSA_PSS_SHA512, &sig::RSA_PSS_2048_8192_SHA512),
        ES256 => Scheme::Ecdsa(
            &sig::ECDSA_P256_SHA256_FIXED_SIGNING,
            &sig::ECDSA_P256_SHA256_FIXED,
        ),
        ES384 => Scheme::Ecdsa(
            &sig::ECDSA_P384_SHA384_FIXED_SIGNING,
            &sig::ECDSA_P384_SHA384_FIXED,
        ),
        EdDSA => Scheme::Ed25519,
        _ => return Err(ErrorKind::InvalidAlgorithm.into()),
    })
}

fn family(scheme: Scheme) -> AlgorithmFamily {
    match scheme {
        Scheme::Hmac(_) => AlgorithmFamily::Hmac,
        Scheme::Rsa(..) => AlgorithmFamily::Rsa,
        Scheme::Ecdsa(..) => AlgorithmFamily::Ec,
        Scheme::Ed25519 => AlgorithmFamily::Ed,
    }
}

enum SigningKey {
    Hmac(hmac::Key),
    Rsa(RsaKeyPair, &'static dyn sig::RsaEncoding),
    Ecdsa(EcdsaKeyPair),
    Ed25519(Ed25519KeyPair),
}

struct RingSigner {
    alg: Algorithm,
    key: SigningKey,
}

fn rsa_key_pair(der: &[u8]) -> Result<RsaKeyPair> {
    RsaKeyPair::from_der(der)
        .or_else(|_| RsaKeyPair::from_pkcs8(der))
        .map_err(|e| ErrorKind::InvalidRsaKey(e.to_string()).into())
}

fn ecdsa_key_pair(alg: &'static sig::EcdsaSigningAlgorithm, der: &[u8]) -> Result<EcdsaKeyPair> {
    EcdsaKeyPair::from_pkcs8(alg, der, &SystemRandom::new())
        .map_err(|_| ErrorKind::InvalidEcdsaKey.into())
}

fn ed_key_pair(der: &[u8]) -> Result<Ed25519KeyPair> {
    Ed25519KeyPair::from_pkcs8_maybe_unchecked(der).map_err(|_| ErrorKind::InvalidEddsaKey.into())
}

fn new_signer(alg: &Algorithm, key: &EncodingKey) -> Result<Box<dyn JwtSigner>> {
    let scheme = scheme(*alg)?;
    if key.family() != family(scheme) {
        return Err(new_error(ErrorKind::InvalidKeyFormat));
    }
    let der = key.as_bytes();
    let key = match scheme {
        Scheme::Hmac(h) => SigningKey::Hmac(hmac::Key::new(h, der)),
        Scheme::Rsa(encoding, _) => SigningKey::Rsa(rsa_key_pair(der)?, encoding),
        Scheme::Ecdsa(signing, _) => SigningKey::Ecdsa(ecdsa_key_pair(signing, der)?),
        Scheme::Ed25519 => SigningKey::Ed25519(ed_key_pair(der)?),
    };
    Ok(Box::new(RingSigner { alg: *alg, key }))
}

impl Signer<Vec<u8>> for RingSigner {
    fn try_sign(&self, msg: &[u8]) -> std::result::Result<Vec<u8>, SigError> {
        let rng = SystemRandom::new();
        Ok(match &self.key {
            SigningKey::Hmac(key) => hmac::sign(key, msg).as_ref().to_vec(),
            SigningKey::Rsa(pair, encoding) => {
                let mut out = vec![0; pair.public().modulus_len()];
                pair.sign(*encoding, &rng, msg, &mut out)
                    .map_err(|_| SigError::new())?;
                out
            }
            SigningKey::Ecdsa(pair) => pair
                .sign(&rng, msg)
                .map_err(|_| SigError::new())?
                .as_ref()
                .to_vec(),
            SigningKey::Ed25519(pair) => pair.sign(msg).as_ref().to_vec(),
        })
    }
}

impl JwtSigner for RingSigner {
    fn algorithm(&self) -> Algorithm {
        self.alg
    }
}

struct RingVerifier {
    alg: Algorithm,
    scheme: Scheme,
    key: DecodingKey,
}

fn new_verifier(alg: &Algorithm, key: &DecodingKey) -> Result<Box<dyn JwtVerifier>> {
    let scheme = scheme(*alg)?;
    if key.family() != family(scheme) {
        return Err(new_error(ErrorKind::InvalidKeyFormat));
    }
    Ok(Box::new(RingVerifier {
        alg: *alg,
        scheme,
        key: key.clone(),
    }))
}

impl Verifier<Vec<u8>> for RingVerifier {
    fn verify(&self, msg: &[u8], signature: &Vec<u8>) -> std::result::Result<(), SigError> {
        let bytes = || self.key.try_get_as_bytes().map_err(SigError::from_source);
        match (self.scheme, self.key.kind()) {
            (Scheme::Hmac(h), _) => hmac::verify(&hmac::Key::new(h, bytes()?), msg, signature),
            (Scheme::Rsa(_, params), DecodingKeyKind::RsaModulusExponent { n, e }) => {
                sig::RsaPublicKeyComponents { n, e }.verify(params, msg, signature)
            }
            (Scheme::Rsa(_, params), _) => {
                UnparsedPublicKey::new(params, bytes()?).verify(msg, signature)
            }
            (Scheme::Ecdsa(_, verify), _) => {
                UnparsedPublicKey::new(verify, bytes()?).verify(msg, signature)
            }
            (Scheme::Ed25519, _) => {
                UnparsedPublicKey::new(&sig::ED25519, bytes()?).verify(msg, signature)
            }
        }
        .map_err(|_| SigError::new())
    }
}

impl JwtVerifier for RingVerifier {
    fn algorithm(&self) -> Algorithm {
        self.alg
    }
}

fn rsa_components(der: &[u8]) -> Result<(Vec<u8>, Vec<u8>)> {
    let pair = rsa_key_pair(der)?;
    let public = sig::RsaPublicKeyComponents::<Vec<u8>>::from(pair.public());
    Ok((public.n, public.e))
}

fn ec_components(der: &[u8], alg: Algorithm) -> Result<(EllipticCurve, Vec<u8>, Vec<u8>)> {
    let (signing, curve, len) = match alg {
        Algorithm::ES256 => (
            &sig::ECDSA_P256_SHA256_FIXED_SIGNING,
            EllipticCurve::P256,
            32,
        ),
        Algorithm::ES384 => (
            &sig::ECDSA_P384_SHA384_FIXED_SIGNING,
            EllipticCurve::P384,
            48,
        ),
        _ => return Err(ErrorKind::InvalidEcdsaKey.into()),
    };
    let pair = ecdsa_key_pair(signing, der)?;
    // An uncompressed point: 0x04, then x and y.
    match pair.public_key().as_ref() {
        [4, xy @ ..] if xy.len() == 2 * len => {
            let (x, y) = xy.split_at(len);
            Ok((curve, x.to_vec(), y.to_vec()))
        }
        _ => Err(ErrorKind::InvalidEcdsaKey.into()),
    }
}

fn ed_component(der: &[u8], curve: &EllipticCurve) -> Result<Vec<u8>> {
    match curve {
        EllipticCurve::Ed25519 => Ok(ed_key_pair(der)?.public_key().as_ref().to_vec()),
        _ => Err(ErrorKind::InvalidAlgorithm.into()),
    }
}

fn compute_digest(data: &[u8], hash: ThumbprintHash) -> Result<Vec<u8>> {
    let alg = match hash {
        ThumbprintHash::SHA256 => &digest::SHA256,
        ThumbprintHash::SHA384 => &digest::SHA384,
        ThumbprintHash::SHA512 => &digest::SHA512,
        _ => return Err(ErrorKind::InvalidAlgorithm.into()),
    };
    Ok(digest::digest(alg, data).as_ref().to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_signs_and_verifies_and_rejects_a_changed_message() {
        crate::install_crypto_provider();
        let signature =
            jsonwebtoken::crypto::sign(b"a.b", &EncodingKey::from_secret(b"k"), Algorithm::HS256)
                .unwrap();
        let key = DecodingKey::from_secret(b"k");
        assert!(jsonwebtoken::crypto::verify(&signature, b"a.b", &key, Algorithm::HS256).unwrap());
        assert!(!jsonwebtoken::crypto::verify(&signature, b"a.c", &key, Algorithm::HS256).unwrap());
    }

    #[test]
    fn a_key_of_another_family_is_refused() {
        let err = new_verifier(&Algorithm::RS256, &DecodingKey::from_secret(b"k")).err();
        assert!(matches!(
            err.map(|e| e.into_kind()),
            Some(ErrorKind::InvalidKeyFormat)
        ));
    }
}
