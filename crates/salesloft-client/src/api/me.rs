//! `/v2/me` (the authenticated user) and `/v2/team`.

use http::Method;

use crate::models::{Team, User};
use crate::transport::ApiRequest;
use crate::{Client, Error};

/// `GET /v2/me`: the user the credential acts as (same shape as a [`User`]).
pub async fn me(client: &Client) -> Result<User, Error> {
    client.send_data(ApiRequest::new("me.get", Method::GET, "me")).await
}

/// `GET /v2/team`: the caller's team.
pub async fn team(client: &Client) -> Result<Team, Error> {
    client.send_data(ApiRequest::new("team.get", Method::GET, "team")).await
}
