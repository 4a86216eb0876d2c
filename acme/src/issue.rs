//! One order, from placing it to the downloaded chain.

use std::time::Duration;

use instant_acme::{
    Account, AuthorizationStatus, CertificateIdentifier, ChallengeType, Identifier, NewOrder,
    Order, OrderStatus, RetryPolicy,
};

use crate::challenges::{Answer, Challenges};
use crate::error::{ChallengeFailure, Error, Problem};
use crate::event::{Event, Reporter};
use crate::kind::ChallengeKind;

/// What an order needs besides the account.
pub(crate) struct Request<'a> {
    pub(crate) names: &'a [String],
    pub(crate) kind: ChallengeKind,
    pub(crate) challenges: &'a Challenges,
    /// The certificate this one replaces, for CAs that offer renewal
    /// information.
    pub(crate) replaces: Option<CertificateIdentifier<'static>>,
    /// How long to wait for validation, then for issuance.
    pub(crate) patience: Duration,
}

/// What is being done when placing an order, as errors say it.
pub(crate) const PLACE_THE_ORDER: &str = "place the order";

/// The PEM chain and the PEM key of a new certificate.
pub(crate) struct Issued {
    pub(crate) chain_pem: String,
    pub(crate) key_pem: String,
}

/// Places an order, answers its challenges, finalises it with a key made
/// on the spot and downloads the chain.
pub(crate) async fn issue(
    account: &Account,
    request: Request<'_>,
    events: &Reporter,
) -> Result<Issued, Error> {
    let identifiers: Vec<Identifier> = request
        .names
        .iter()
        .map(|name| Identifier::Dns(name.clone()))
        .collect();
    let mut order = place(account, &identifiers, request.replaces.clone()).await?;
    events.emit(Event::OrderPlaced {
        names: request.names,
    });
    // Kept until the order is decided: the CA may check more than once.
    let _answers = answer_all(&mut order, &request, events).await?;
    let retries = RetryPolicy::new()
        .initial_delay(Duration::from_millis(250))
        .timeout(request.patience);
    let status = order.poll_ready(&retries).await;
    match status {
        Ok(OrderStatus::Ready) => {}
        Ok(_) | Err(instant_acme::Error::Api(_)) => {
            return Err(failures(&mut order, request.kind, status.err()).await);
        }
        Err(err) => return Err(Error::acme("validate the challenges", err)),
    }
    let key_pem = order
        .finalize()
        .await
        .map_err(|err| Error::acme("finalize the order", err))?;
    let chain_pem = order
        .poll_certificate(&retries)
        .await
        .map_err(|err| Error::acme("issue the certificate", err))?;
    Ok(Issued { chain_pem, key_pem })
}

/// Places the order, saying which certificate it replaces when there is
/// one. Should the CA refuse that, the order is placed again without it:
/// an earlier order may have replaced the certificate already (issued,
/// but lost on the way back), and the CA then refuses every order naming
/// it again.
async fn place(
    account: &Account,
    identifiers: &[Identifier],
    replaces: Option<CertificateIdentifier<'static>>,
) -> Result<Order, Error> {
    let new = NewOrder::new(identifiers);
    let Some(replaces) = replaces else {
        return account
            .new_order(&new)
            .await
            .map_err(|err| Error::acme(PLACE_THE_ORDER, err));
    };
    match account.new_order(&new.replaces(replaces)).await {
        Ok(order) => Ok(order),
        Err(err) => {
            let err = Error::acme(PLACE_THE_ORDER, err);
            tracing::info!(target: "acme", "{err:#}; placing it again as a new certificate");
            account
                .new_order(&NewOrder::new(identifiers))
                .await
                .map_err(|err| Error::acme(PLACE_THE_ORDER, err))
        }
    }
}

/// Puts an answer in place for every pending authorization and tells the
/// CA to check it.
async fn answer_all(
    order: &mut Order,
    request: &Request<'_>,
    events: &Reporter,
) -> Result<Vec<Answer>, Error> {
    let mut answers = Vec::new();
    let mut authorizations = order.authorizations();
    while let Some(authorization) = authorizations.next().await {
        let mut authorization =
            authorization.map_err(|err| Error::acme("read the authorizations", err))?;
        let name = authorization.identifier().to_string();
        if !pending(&name, authorization.status, request.kind)? {
            continue;
        }
        let offered: Vec<String> = authorization
            .challenges
            .iter()
            .map(|c| challenge_name(&c.r#type))
            .collect();
        let Some(mut challenge) = authorization.challenge(request.kind.acme()) else {
            let kind = request.kind;
            return Err(Error::ChallengeUnavailable {
                name,
                kind,
                offered,
            });
        };
        let key_authorization = challenge.key_authorization();
        answers.push(match request.kind {
            ChallengeKind::Http01 => request
                .challenges
                .put_http01(&challenge.token, key_authorization.as_str()),
            ChallengeKind::TlsAlpn01 => request
                .challenges
                .put_tls_alpn01(&name, key_authorization.digest().as_ref())?,
        });
        challenge
            .set_ready()
            .await
            .map_err(|err| Error::acme("start the challenge", err))?;
        let kind = request.kind;
        events.emit(Event::ChallengeReady { name: &name, kind });
    }
    Ok(answers)
}

/// Whether an authorization waits for an answer: pending yes, valid (done
/// earlier for this account) no, anything else is a failure.
fn pending(name: &str, status: AuthorizationStatus, kind: ChallengeKind) -> Result<bool, Error> {
    match status {
        AuthorizationStatus::Pending => Ok(true),
        AuthorizationStatus::Valid => Ok(false),
        other => {
            let problem = Problem {
                detail: Some(format!("the authorization is {other:?}")),
                ..Problem::default()
            };
            let failure = ChallengeFailure {
                name: name.to_string(),
                kind,
                problem: Some(problem),
            };
            Err(Error::Challenge {
                failures: vec![failure],
            })
        }
    }
}

/// The failed challenges of an order that did not become ready, each with
/// the CA's detail; the order's own problem when no challenge has one.
async fn failures(
    order: &mut Order,
    kind: ChallengeKind,
    error: Option<instant_acme::Error>,
) -> Error {
    let mut failures = Vec::new();
    let mut authorizations = order.authorizations();
    while let Some(Ok(mut authorization)) = authorizations.next().await {
        if authorization.refresh().await.is_err() {
            continue;
        }
        if authorization.status == AuthorizationStatus::Valid {
            continue;
        }
        let name = authorization.identifier().to_string();
        let problem = authorization
            .challenges
            .iter()
            .find(|c| c.r#type == kind.acme())
            .and_then(|c| c.error.clone())
            .map(Problem::from);
        failures.push(ChallengeFailure {
            name,
            kind,
            problem,
        });
    }
    if failures.iter().any(|f| f.problem.is_some()) {
        return Error::Challenge { failures };
    }
    match error {
        Some(err) => Error::acme("validate the challenges", err),
        None if !failures.is_empty() => Error::Challenge { failures },
        None => Error::Protocol {
            during: "validate the challenges",
            source: "the order became invalid without saying why".into(),
        },
    }
}

/// A challenge type as the CA names it: `http-01`, `dns-01`...
fn challenge_name(kind: &ChallengeType) -> String {
    match kind {
        ChallengeType::Http01 => "http-01".to_string(),
        ChallengeType::Dns01 => "dns-01".to_string(),
        ChallengeType::TlsAlpn01 => "tls-alpn-01".to_string(),
        ChallengeType::DeviceAttest01 => "device-attest-01".to_string(),
        ChallengeType::Unknown(name) => name.clone(),
        // The enum may grow.
        other => format!("{other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenge_types_read_as_the_ca_names_them() {
        let names: Vec<String> = [
            ChallengeType::Http01,
            ChallengeType::Dns01,
            ChallengeType::TlsAlpn01,
            ChallengeType::Unknown("dns-account-01".to_string()),
        ]
        .iter()
        .map(challenge_name)
        .collect();
        assert_eq!(
            names,
            ["http-01", "dns-01", "tls-alpn-01", "dns-account-01"]
        );
        let err = Error::ChallengeUnavailable {
            name: "a.test".to_string(),
            kind: ChallengeKind::TlsAlpn01,
            offered: names[..2].to_vec(),
        };
        assert_eq!(
            err.to_string(),
            "a.test: the CA offers no TLS-ALPN-01 challenge (it offers http-01, dns-01)"
        );
        let none = Error::ChallengeUnavailable {
            name: "a.test".to_string(),
            kind: ChallengeKind::Http01,
            offered: Vec::new(),
        };
        assert_eq!(
            none.to_string(),
            "a.test: the CA offers no HTTP-01 challenge (it offers none)"
        );
    }
}
