//! The HTTP/2 settings both sides share: flow-control windows, frame and
//! head sizes, the send buffer and keep-alive PINGs.

use std::time::Duration;

/// What each side advertises or limits, with the same defaults for the
/// client and the server.
#[derive(Clone, Debug)]
pub(crate) struct Settings {
    /// How many bytes of each body the peer may send ahead of the reader.
    pub(crate) initial_stream_window: u32,
    /// The same across all streams.
    pub(crate) initial_connection_window: u32,
    /// The largest frame the peer may send.
    pub(crate) max_frame_size: u32,
    /// The largest head the peer may send, decoded.
    pub(crate) max_header_list_size: u32,
    /// How many bytes of body each stream may queue beyond the peer's window.
    pub(crate) max_send_buffer: usize,
    /// How often to send a keep-alive PING; none by default.
    pub(crate) keep_alive_interval: Option<Duration>,
    /// How long a PING may go unanswered.
    pub(crate) keep_alive_timeout: Duration,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            initial_stream_window: 1024 * 1024,
            initial_connection_window: 4 * 1024 * 1024,
            max_frame_size: 16 * 1024,
            max_header_list_size: 64 * 1024,
            max_send_buffer: 400 * 1024,
            keep_alive_interval: None,
            keep_alive_timeout: Duration::from_secs(20),
        }
    }
}

/// Applies the settings to an `h2` builder; the client's and the server's
/// are different types with the same methods.
macro_rules! apply {
    ($builder:expr, $settings:expr) => {{
        let settings: &Settings = $settings;
        $builder
            .initial_window_size(settings.initial_stream_window)
            .initial_connection_window_size(settings.initial_connection_window)
            .max_frame_size(settings.max_frame_size)
            .max_header_list_size(settings.max_header_list_size)
            .max_send_buffer_size(settings.max_send_buffer);
    }};
}

impl Settings {
    /// An `h2` server builder with these settings.
    pub(crate) fn server_builder(&self) -> h2::server::Builder {
        let mut builder = h2::server::Builder::new();
        apply!(builder, self);
        builder
    }

    /// An `h2` client builder with these settings; server push refused.
    pub(crate) fn client_builder(&self) -> h2::client::Builder {
        let mut builder = h2::client::Builder::new();
        builder.enable_push(false);
        apply!(builder, self);
        builder
    }

    /// The keep-alive interval and timeout, when PINGs are on.
    pub(crate) fn keep_alive(&self) -> Option<(Duration, Duration)> {
        self.keep_alive_interval
            .map(|interval| (interval, self.keep_alive_timeout))
    }
}
