//! Every call the client makes, as a method and a path template from Forgejo's swagger;
//! `tests/canary_prism.rs` checks each against the spec with Prism.

/// Every call the client makes: a method and a path template, as in Forgejo's swagger.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// `GET /user`: the token's own account (whose comments the gate may edit).
    GetUser,
    GetPull,
    ListPullFiles,
    CreateStatus,
    ListComments,
    CreateComment,
    EditComment,
}

impl Endpoint {
    pub const ALL: [Endpoint; 7] = [
        Endpoint::GetUser,
        Endpoint::GetPull,
        Endpoint::ListPullFiles,
        Endpoint::CreateStatus,
        Endpoint::ListComments,
        Endpoint::CreateComment,
        Endpoint::EditComment,
    ];

    pub fn method(self) -> &'static str {
        self.verb().as_str()
    }

    pub(super) fn verb(self) -> Method {
        match self {
            Endpoint::GetUser
            | Endpoint::GetPull
            | Endpoint::ListPullFiles
            | Endpoint::ListComments => Method::Get,
            Endpoint::CreateStatus | Endpoint::CreateComment => Method::Post,
            Endpoint::EditComment => Method::Patch,
        }
    }

    /// The path template, relative to the API base (`/api/v1`).
    pub fn template(self) -> &'static str {
        match self {
            Endpoint::GetUser => "/user",
            Endpoint::GetPull => "/repos/{owner}/{repo}/pulls/{index}",
            Endpoint::ListPullFiles => "/repos/{owner}/{repo}/pulls/{index}/files",
            Endpoint::CreateStatus => "/repos/{owner}/{repo}/statuses/{sha}",
            Endpoint::ListComments | Endpoint::CreateComment => {
                "/repos/{owner}/{repo}/issues/{index}/comments"
            }
            Endpoint::EditComment => "/repos/{owner}/{repo}/issues/comments/{id}",
        }
    }

    /// The query parameters the client sends.
    pub fn query(self) -> &'static [&'static str] {
        match self {
            Endpoint::ListPullFiles => &["page", "limit"],
            _ => &[],
        }
    }
}

/// The HTTP methods the client uses.
#[derive(Clone, Copy)]
pub(super) enum Method {
    Get,
    Post,
    Patch,
}

impl Method {
    pub(super) fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Patch => "PATCH",
        }
    }
}
