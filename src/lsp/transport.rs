//! The stream between `tdc lsp` and its editor: JSON-RPC messages, each a `Content-Length`
//! header, a blank line and that many bytes of JSON. `lsp-server` frames and parses them;
//! what this file adds is the bound on one message, read from the header before the body is
//! taken in, since the crate's own stdio reader sets aside whatever length it is told.

use std::io::{self, BufRead, Read};
use std::thread::{self, JoinHandle};

use crossbeam_channel::bounded;
use lsp_server::{Connection, Message};

/// The largest message a client may send: a script far beyond any an editor holds open.
pub(crate) const MAX_MESSAGE: u64 = 64 * 1024 * 1024;

/// The longest header line: the protocol's are a few dozen bytes.
const MAX_HEADER_LINE: u64 = 4096;

/// The threads reading stdin and writing stdout for one connection.
pub(crate) struct Transport {
    reader: JoinHandle<io::Result<()>>,
    writer: JoinHandle<io::Result<()>>,
}

impl Transport {
    /// Waits for both threads; the reader's error says why the client's stream was refused.
    pub(crate) fn join(self) -> io::Result<()> {
        let read = self
            .reader
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("reader panicked")));
        let written = self
            .writer
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("writer panicked")));
        read.and(written)
    }
}

/// A connection on stdin and stdout, as `Connection::stdio` makes one, but for the bound.
pub(crate) fn stdio() -> (Connection, Transport) {
    // Unbuffered hand-over, as the crate's: a client that sends faster than the server answers
    // waits instead of queueing.
    let (to_server, from_client) = bounded::<Message>(0);
    let (to_client, from_server) = bounded::<Message>(0);
    let writer = thread::spawn(move || {
        let mut stdout = io::stdout().lock();
        from_server
            .into_iter()
            .try_for_each(|message| message.write(&mut stdout))
    });
    let reader = thread::spawn(move || {
        let mut stdin = io::stdin().lock();
        while let Some(message) = read(&mut stdin)? {
            let exit = matches!(&message, Message::Notification(n) if n.method == "exit");
            if to_server.send(message).is_err() || exit {
                break;
            }
        }
        Ok(())
    });
    let connection = Connection {
        sender: to_client,
        receiver: from_client,
    };
    (connection, Transport { reader, writer })
}

/// The next message, refused before its body is read when its length is over
/// [`MAX_MESSAGE`]. Only the length is read here: the headers and the body go to
/// `Message::read` as they came, for its framing and its errors.
fn read(input: &mut impl BufRead) -> io::Result<Option<Message>> {
    let mut framed = Vec::new();
    let mut length = None;
    loop {
        let start = framed.len();
        input
            .by_ref()
            .take(MAX_HEADER_LINE)
            .read_until(b'\n', &mut framed)?;
        let Some(line) = framed[start..].strip_suffix(b"\r\n") else {
            break; // The end of the stream, or not a header: `Message::read` says which.
        };
        if line.is_empty() {
            break;
        }
        let Some((name, value)) = std::str::from_utf8(line)
            .ok()
            .and_then(|line| line.split_once(": "))
        else {
            break;
        };
        if name.eq_ignore_ascii_case("Content-Length") {
            length = value.parse::<u64>().ok();
        }
    }
    if let Some(length) = length {
        if length > MAX_MESSAGE {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "a message of {length} bytes is over the limit of {} MiB",
                    MAX_MESSAGE / (1024 * 1024)
                ),
            ));
        }
        // Taken as it arrives, never set aside in advance: a client may claim more than it sends.
        input.by_ref().take(length).read_to_end(&mut framed)?;
    }
    Message::read(&mut framed.as_slice())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn a_length_over_the_bound_is_refused_before_its_body() {
        let mut input = io::Cursor::new(b"Content-Length: 67108865\r\n\r\n{}".to_vec());
        let error = read(&mut input).unwrap_err();
        assert_eq!(
            error.to_string(),
            "a message of 67108865 bytes is over the limit of 64 MiB"
        );
        assert_eq!(input.position(), 28, "the body is not read");
    }

    #[test]
    fn messages_within_the_bound_are_read_one_by_one() {
        let first = r#"{"jsonrpc":"2.0","method":"initialized","params":{}}"#;
        let second = r#"{"jsonrpc":"2.0","method":"exit"}"#;
        let mut stream = Vec::new();
        for body in [first, second] {
            write!(
                stream,
                "content-length: {}\r\nContent-Type: x\r\n\r\n{body}",
                body.len()
            )
            .unwrap();
        }
        let mut input = io::Cursor::new(stream);
        let methods: Vec<String> = std::iter::from_fn(|| read(&mut input).unwrap())
            .map(|m| match m {
                Message::Notification(n) => n.method,
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(methods, ["initialized", "exit"]);
    }
}
