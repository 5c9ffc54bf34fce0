//! The connect page's browser state: [`zebrunner_pages::session`] under the page's own cookie
//! names (`zmcp-signin` while the person is at the issuer, `zmcp-connect` once signed in,
//! 30 minutes) and purpose prefix, so its cookies and CSRF tokens pass nowhere else.

use zebrunner_pages::CookieKey;
use zebrunner_pages::session::Names;
pub use zebrunner_pages::session::{Session, Sessions as Cookies};

/// The page's cookie names; the empty purpose prefix keeps cookies issued before the
/// session code was shared valid.
const NAMES: Names = Names {
    session: "zmcp-connect",
    sign_in: "zmcp-signin",
    purpose: "",
};

/// The page's cookies on `key`.
pub fn cookies(key: CookieKey) -> Cookies {
    Cookies::new(key, NAMES)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_names_its_own_cookies() {
        let c = cookies(CookieKey::new(&[7; 32], true));
        let (_, session) = c.begin_session("uid:1".into(), None, None, 1_800_000_000);
        assert!(session.starts_with("__Host-zmcp-connect="), "{session}");
        let (_, sign_in) = c.begin_sign_in(1_800_000_000);
        assert!(sign_in.starts_with("__Host-zmcp-signin="), "{sign_in}");
    }
}
