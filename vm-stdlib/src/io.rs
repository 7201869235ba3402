//! The io library (`liolib.c`): file handles, the default input and output
//! files, `io.lines`, `io.popen` and `io.tmpfile`.
//!
//! A file handle is a full userdata holding a `LuaFile` under the
//! metatable `registry["FILE*"]` (`__name` "FILE*", the methods in
//! `__index`, `__gc`, `__close`, `__tostring`). The default files live in
//! the registry as `_IO_input` and `_IO_output`, as in PUC Lua.
//!
//! PUC Lua reads and writes through C's stdio; here each regular file or
//! pipe has one `Buffered` stream playing the `FILE`'s part, so reads,
//! writes and seeks on the same handle interleave as they do in C. The
//! standard streams go through Rust's own: `io.stdout` writes into
//! `std::io::stdout()`, whose buffer `print` shares (so their output stays
//! in order), and `io.stdin` reads from `std::io::stdin()`, whose buffer
//! `loadfile()` shares.
//!
//! Reading never fails half-way in Lua's eyes: as `getc` does, a read error
//! ends the data like an end of file, and the call then answers
//! `nil, message, errno` (`luaL_fileresult`) in place of its results.
//! Names and modes passed to the system end at their first NUL byte, where
//! the C functions PUC Lua calls see them end. Unix-only (`/bin/sh`,
//! `lseek`, `tmpfile`).
//!
//! Reads and writes pay for the bytes they move, one unit of fuel per 32
//! (the string library's cost model, `string/cost.rs`); a write charges
//! the strings it is given before it writes them. Reads of lines, counts
//! and "a" go in steps of `STEP_BYTES`, each paid for and checked against
//! a memory limit, and pause between two when the budget is spent (their
//! progress in a userdata in their frame), so reading a huge file, or
//! `/dev/zero`, comes back to the driver. (`read("n")` reads a numeral of
//! at most 200 bytes in one go, after whatever white space precedes it.)

use crate::auxlib::{check_c_string, exec_result, file_result, until_nul};
use std::ffi::OsStr;
use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, Read, Seek, SeekFrom, Write};
use std::os::fd::{AsRawFd, FromRawFd, IntoRawFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::process::{Child, ChildStdin, ChildStdout, Command, ExitStatus, Stdio};

use vm_core::number::{float_to_int_exact, fmt_float, fmt_int, str_to_number};
use vm_core::{Args, LuaError, LuaResult, Status, Step, Value, Vm};

use crate::string::cost::{charge_bytes, STEP_BYTES};

natives! {
    natives {
        IO_CLOSE = "io.close" as "close" => io_close;
        IO_FLUSH = "io.flush" as "flush" => io_flush;
        IO_INPUT = "io.input" as "input" => io_input;
        IO_LINES = "io.lines" as "lines" => io_lines;
        IO_OPEN = "io.open" as "open" => io_open;
        IO_OUTPUT = "io.output" as "output" => io_output;
        IO_POPEN = "io.popen" as "popen" => io_popen;
        IO_READ = "io.read" as "read" => io_read;
        IO_TMPFILE = "io.tmpfile" as "tmpfile" => io_tmpfile;
        IO_TYPE = "io.type" as "type" => io_type;
        IO_WRITE = "io.write" as "write" => io_write;
        READLINE = "io.readline" as "readline" => io_readline;
        F_CLOSE = "io.file:close" as "close" => f_close;
        F_FLUSH = "io.file:flush" as "flush" => f_flush;
        F_LINES = "io.file:lines" as "lines" => f_lines;
        F_READ = "io.file:read" as "read" => f_read;
        F_SEEK = "io.file:seek" as "seek" => f_seek;
        F_SETVBUF = "io.file:setvbuf" as "setvbuf" => f_setvbuf;
        F_WRITE = "io.file:write" as "write" => f_write;
        F_GC = "io.file:__gc" as "__gc" => f_gc;
        F_TOSTRING = "io.file:__tostring" as "__tostring" => f_tostring;
    }
    continuations {
        READ_K = "io.read_k" => read_k;
    }
}

/// Registry key of the file handles' metatable (`LUA_FILEHANDLE`).
const FILE_HANDLE: &str = "FILE*";
/// Registry key of the default input file.
const IO_INPUT_KEY: &str = "_IO_input";
/// Registry key of the default output file.
const IO_OUTPUT_KEY: &str = "_IO_output";
/// Size of a stream's buffer, and `setvbuf`'s default size argument.
const BUFFER_SIZE: usize = 8192;
/// Most formats an `io.lines` iterator may carry (`MAXARGLINE`).
const MAX_LINES_FORMATS: usize = 250;
/// Longest numeral `read("n")` accepts (`L_MAXLENNUM`).
const MAX_NUMERAL_LEN: usize = 200;
/// The shell `io.popen` runs commands with, as C's `popen` does.
const SHELL: &str = "/bin/sh";

/// Installs the `io` table into the globals, with the file handles'
/// metatable and the standard files.
pub fn open_io(vm: &mut Vm) -> LuaResult<()> {
    vm.register_natives(&NATIVES)?;
    let io = vm.new_table();
    vm.register(
        io,
        &[
            &IO_CLOSE,
            &IO_FLUSH,
            &IO_INPUT,
            &IO_LINES,
            &IO_OPEN,
            &IO_OUTPUT,
            &IO_POPEN,
            &IO_READ,
            &IO_TMPFILE,
            &IO_TYPE,
            &IO_WRITE,
        ],
    )?;
    let methods = vm.new_table();
    vm.register(
        methods,
        &[
            &F_CLOSE, &F_FLUSH, &F_LINES, &F_READ, &F_SEEK, &F_SETVBUF, &F_WRITE,
        ],
    )?;
    let mt = vm.new_table();
    vm.register(mt, &[&F_GC, &F_TOSTRING])?;
    // One function for both events, as in PUC Lua.
    let gc = vm.raw_get_str(mt, "__gc");
    vm.raw_set_str(mt, "__close", gc)?;
    vm.raw_set_str(mt, "__index", Value::Table(methods))?;
    let name = vm.new_str(FILE_HANDLE.as_bytes());
    vm.raw_set_str(mt, "__name", name)?;
    let registry = vm.registry();
    vm.raw_set_str(registry, FILE_HANDLE, Value::Table(mt))?;

    for (field, stream) in [
        ("stdin", Stream::Stdin),
        ("stdout", Stream::Stdout { unbuffered: false }),
        ("stderr", Stream::Stderr),
    ] {
        let f = new_file(vm, stream)?;
        vm.raw_set_str(io, field, f)?;
        match field {
            "stdin" => vm.raw_set_str(registry, IO_INPUT_KEY, f)?,
            "stdout" => vm.raw_set_str(registry, IO_OUTPUT_KEY, f)?,
            _ => {}
        }
    }
    vm.register_library("io", io)?;
    Ok(())
}

// ---------------------------------------------------------------------------
// Streams
// ---------------------------------------------------------------------------

/// The payload of a file handle (`LStream`).
struct LuaFile {
    /// The open stream; `None` once the handle is closed. A native may take
    /// the stream out while it works on it (see `with_stream`), but puts it
    /// back before any Lua code can see the handle again.
    stream: Option<Stream>,
}

impl Drop for LuaFile {
    /// A handle dropped without `__gc` having closed it (the VM going away)
    /// still flushes its data and reaps its child process.
    fn drop(&mut self) {
        if let Some(stream) = self.stream.take() {
            let _ = close_stream(stream);
        }
    }
}

/// What a file handle reads and writes, and so how it closes.
enum Stream {
    /// The process's standard input, through Rust's `Stdin`.
    Stdin,
    /// The process's standard output, through Rust's `Stdout` (line
    /// buffered; `setvbuf("no")` flushes after every write).
    Stdout {
        /// Whether `setvbuf("no")` is in effect.
        unbuffered: bool,
    },
    /// The process's standard error (unbuffered).
    Stderr,
    /// A file from `io.open`, `io.lines` or `io.tmpfile`.
    File(Buffered),
    /// A pipe from `io.popen`, with the shell running the command.
    Pipe(Buffered, Child),
}

/// How a stream's writes reach the system (`setvbuf`'s modes).
#[derive(Clone, Copy, PartialEq, Eq)]
enum BufMode {
    /// Every write at once.
    No,
    /// When the buffer fills.
    Full,
    /// At each newline, or when the buffer fills.
    Line,
}

/// The system object under a [`Buffered`] stream.
enum Raw {
    File(File),
    PipeIn(ChildStdout),
    PipeOut(ChildStdin),
}

/// `errno` `code` as an `io::Error`.
fn os_error(code: i32) -> io::Error {
    io::Error::from_raw_os_error(code)
}

impl Raw {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Raw::File(f) => f.read(buf),
            Raw::PipeIn(p) => p.read(buf),
            Raw::PipeOut(_) => Err(os_error(libc::EBADF)),
        }
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        match self {
            Raw::File(f) => f.write_all(buf),
            Raw::PipeOut(p) => p.write_all(buf),
            Raw::PipeIn(_) => Err(os_error(libc::EBADF)),
        }
    }

    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        match self {
            Raw::File(f) => f.seek(pos),
            Raw::PipeIn(_) | Raw::PipeOut(_) => Err(os_error(libc::ESPIPE)),
        }
    }
}

/// A C `FILE` over a file or a pipe: one buffer for reading ahead and one
/// for writes not yet passed on.
///
/// Invariant: `wbuf` is empty whenever `rbuf[rpos..]` is not. Before a
/// write, the read-ahead is given back to the file by seeking back over it;
/// before a read or a seek, pending writes are flushed.
struct Buffered {
    raw: Raw,
    /// Bytes read ahead; `rbuf[rpos..]` are the ones not yet consumed.
    rbuf: Vec<u8>,
    rpos: usize,
    /// Bytes written but not yet passed to `raw`.
    wbuf: Vec<u8>,
    mode: BufMode,
    /// Whether the mode it was opened with allows reading (stdio fails
    /// other reads with `EBADF` without asking the system).
    readable: bool,
    /// Whether the mode it was opened with allows writing.
    writable: bool,
}

impl Buffered {
    fn new(raw: Raw, readable: bool, writable: bool) -> Buffered {
        Buffered {
            raw,
            rbuf: Vec::new(),
            rpos: 0,
            wbuf: Vec::new(),
            mode: BufMode::Full,
            readable,
            writable,
        }
    }

    /// Passes pending writes on to the system.
    fn flush_writes(&mut self) -> io::Result<()> {
        if self.wbuf.is_empty() {
            return Ok(());
        }
        // Dropped even on failure, as a failed `fflush` leaves nothing to
        // retry that would succeed.
        let r = self.raw.write_all(&self.wbuf);
        self.wbuf.clear();
        r
    }

    fn unread(&self) -> usize {
        self.rbuf.len() - self.rpos
    }

    fn discard_read_ahead(&mut self) {
        self.rbuf.clear();
        self.rpos = 0;
    }

    fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        if !self.writable {
            return Err(os_error(libc::EBADF));
        }
        if self.unread() > 0 {
            // Move the system's position back to where the reader stands.
            let back = i64::try_from(self.unread()).unwrap_or(i64::MAX);
            self.raw.seek(SeekFrom::Current(-back))?;
            self.discard_read_ahead();
        }
        match self.mode {
            BufMode::No => {
                self.flush_writes()?;
                self.raw.write_all(bytes)
            }
            BufMode::Full | BufMode::Line => {
                self.wbuf.extend_from_slice(bytes);
                let line_done = self.mode == BufMode::Line && bytes.contains(&b'\n');
                if line_done || self.wbuf.len() >= BUFFER_SIZE {
                    self.flush_writes()?;
                }
                Ok(())
            }
        }
    }

    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        self.flush_writes()?;
        let pos = match pos {
            // The system's position is ahead of the reader's.
            SeekFrom::Current(off) => i64::try_from(self.unread())
                .ok()
                .and_then(|unread| off.checked_sub(unread))
                .map(SeekFrom::Current)
                .ok_or_else(|| os_error(libc::EINVAL))?,
            pos => pos,
        };
        let at = self.raw.seek(pos)?;
        self.discard_read_ahead();
        Ok(at)
    }
}

impl Read for Buffered {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = {
            let avail = self.fill_buf()?;
            let n = avail.len().min(buf.len());
            buf[..n].copy_from_slice(&avail[..n]);
            n
        };
        self.consume(n);
        Ok(n)
    }
}

impl BufRead for Buffered {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.rpos == self.rbuf.len() {
            if !self.readable {
                return Err(os_error(libc::EBADF));
            }
            self.flush_writes()?;
            self.rbuf.resize(BUFFER_SIZE, 0);
            self.rpos = 0;
            let n = loop {
                match self.raw.read(&mut self.rbuf) {
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    r => break r,
                }
            };
            self.rbuf.truncate(*n.as_ref().unwrap_or(&0));
            n?;
        }
        Ok(&self.rbuf[self.rpos..])
    }

    fn consume(&mut self, amt: usize) {
        self.rpos = (self.rpos + amt).min(self.rbuf.len());
    }
}

/// A stream that cannot be read (standard output and error): every read
/// fails as stdio fails it.
struct Unreadable;

impl Read for Unreadable {
    fn read(&mut self, _buf: &mut [u8]) -> io::Result<usize> {
        Err(os_error(libc::EBADF))
    }
}

impl BufRead for Unreadable {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        Err(os_error(libc::EBADF))
    }

    fn consume(&mut self, _amt: usize) {}
}

/// `lseek` on a standard descriptor.
fn fd_seek(fd: RawFd, pos: SeekFrom) -> io::Result<u64> {
    let (off, whence) = match pos {
        SeekFrom::Start(off) => (i64::try_from(off).unwrap_or(i64::MAX), libc::SEEK_SET),
        SeekFrom::Current(off) => (off, libc::SEEK_CUR),
        SeekFrom::End(off) => (off, libc::SEEK_END),
    };
    let off = libc::off_t::try_from(off).map_err(|_| os_error(libc::EINVAL))?;
    // SAFETY: `lseek` only moves the position of a descriptor the process
    // owns; a bad descriptor is reported as an error.
    let at = unsafe { libc::lseek(fd, off, whence) };
    u64::try_from(at).map_err(|_| io::Error::last_os_error())
}

impl Stream {
    /// Writes `bytes` (`fwrite`).
    fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        match self {
            Stream::Stdin => Err(os_error(libc::EBADF)),
            Stream::Stdout { unbuffered } => {
                let mut out = io::stdout().lock();
                out.write_all(bytes)?;
                if *unbuffered {
                    out.flush()?;
                }
                Ok(())
            }
            Stream::Stderr => io::stderr().write_all(bytes),
            Stream::File(b) | Stream::Pipe(b, _) => b.write(bytes),
        }
    }

    /// `fflush`.
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Stdin => Ok(()),
            Stream::Stdout { .. } => io::stdout().flush(),
            Stream::Stderr => io::stderr().flush(),
            Stream::File(b) | Stream::Pipe(b, _) => b.flush_writes(),
        }
    }

    /// `fseek` then `ftell`.
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        match self {
            // Data Rust's `Stdin` has read ahead is not accounted for.
            Stream::Stdin => fd_seek(io::stdin().as_raw_fd(), pos),
            Stream::Stdout { .. } => {
                io::stdout().flush()?;
                fd_seek(io::stdout().as_raw_fd(), pos)
            }
            Stream::Stderr => fd_seek(io::stderr().as_raw_fd(), pos),
            Stream::File(b) | Stream::Pipe(b, _) => b.seek(pos),
        }
    }

    /// `setvbuf`.
    fn set_mode(&mut self, mode: BufMode) {
        match self {
            Stream::Stdout { unbuffered } => *unbuffered = mode == BufMode::No,
            Stream::File(b) | Stream::Pipe(b, _) => b.mode = mode,
            Stream::Stdin | Stream::Stderr => {}
        }
    }

    /// Runs `f` on a reader of this stream.
    fn with_reader<T>(&mut self, f: impl FnOnce(&mut Reader<'_>) -> T) -> T {
        match self {
            Stream::Stdin => {
                // As glibc does before reading a terminal: what the script
                // wrote (a prompt, say) shows first.
                let _ = io::stdout().flush();
                let stdin = io::stdin();
                let mut lock = stdin.lock();
                f(&mut Reader::new(&mut lock))
            }
            Stream::Stdout { .. } | Stream::Stderr => f(&mut Reader::new(&mut Unreadable)),
            Stream::File(b) | Stream::Pipe(b, _) => f(&mut Reader::new(b)),
        }
    }
}

/// How a file or pipe was closed, for `close`'s results.
enum Closed {
    /// A file, and whether its last writes and `close` succeeded.
    File(io::Result<()>),
    /// A pipe, and how its command ended.
    Pipe(io::Result<ExitStatus>),
}

/// Closes `stream` (`fclose` or `pclose`); standard files are given back.
fn close_stream(stream: Stream) -> Result<Closed, Stream> {
    match stream {
        Stream::File(mut b) => {
            let flushed = b.flush_writes();
            let Raw::File(file) = b.raw else {
                unreachable!("file streams hold files")
            };
            // SAFETY: the descriptor was just taken from its `File`, so it
            // is open and closed exactly once.
            let closed = match unsafe { libc::close(file.into_raw_fd()) } {
                0 => Ok(()),
                _ => Err(io::Error::last_os_error()),
            };
            Ok(Closed::File(flushed.and(closed)))
        }
        Stream::Pipe(mut b, mut child) => {
            // As `pclose`, which reports only how the command ended.
            let _ = b.flush_writes();
            // Our end of the pipe closes first, so that a command reading
            // its input sees the end of it.
            drop(b);
            Ok(Closed::Pipe(child.wait()))
        }
        standard => Err(standard),
    }
}

/// A reader for one `read` call: `getc`-like access where an error ends the
/// data as the end of file does, and is kept for the call's result (the
/// end of file and errors stay until the next call, as after `clearerr`
/// with glibc's sticky end of file).
struct Reader<'a> {
    src: &'a mut dyn BufRead,
    error: Option<io::Error>,
    ended: bool,
}

impl<'a> Reader<'a> {
    fn new(src: &'a mut dyn BufRead) -> Reader<'a> {
        Reader {
            src,
            error: None,
            ended: false,
        }
    }

    /// The bytes available without waiting further; empty at the end.
    fn fill(&mut self) -> &[u8] {
        while !self.ended {
            match self.src.fill_buf() {
                Ok([]) => self.ended = true,
                Ok(_) => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.error = Some(e);
                    self.ended = true;
                }
            }
        }
        if self.ended {
            return &[];
        }
        // Already buffered: this call does no I/O.
        self.src.fill_buf().unwrap_or_default()
    }

    fn consume(&mut self, n: usize) {
        self.src.consume(n);
    }

    /// The next byte, left unread (`getc` then `ungetc`).
    fn peek(&mut self) -> Option<u8> {
        self.fill().first().copied()
    }

    /// Reads on into `out` (what the format got so far) by at most
    /// `limit` bytes: a line (`read_line`), with its newline when
    /// `keep_newline`; `None` when there was neither a byte nor a newline
    /// to read.
    fn line(&mut self, out: &mut Vec<u8>, keep_newline: bool, limit: usize) -> Part {
        let mut left = limit;
        loop {
            let buf = self.fill();
            if buf.is_empty() {
                return Part::Done((!out.is_empty()).then(|| std::mem::take(out)));
            }
            let buf = &buf[..buf.len().min(left)];
            if let Some(i) = buf.iter().position(|&c| c == b'\n') {
                if !append(out, &buf[..i + usize::from(keep_newline)]) {
                    return Part::NoRoom;
                }
                self.consume(i + 1);
                return Part::Done(Some(std::mem::take(out)));
            }
            let n = buf.len();
            if !append(out, buf) {
                return Part::NoRoom;
            }
            self.consume(n);
            left -= n;
            if left == 0 {
                return Part::More;
            }
        }
    }

    /// Reads on into `out` by at most `limit` bytes: everything up to the
    /// end (`read_all`).
    fn all(&mut self, out: &mut Vec<u8>, limit: usize) -> Part {
        let mut left = limit;
        loop {
            let buf = self.fill();
            if buf.is_empty() {
                return Part::Done(Some(std::mem::take(out)));
            }
            let n = buf.len().min(left);
            if !append(out, &buf[..n]) {
                return Part::NoRoom;
            }
            self.consume(n);
            left -= n;
            if left == 0 {
                return Part::More;
            }
        }
    }

    /// Reads on into `out` by at most `limit` bytes: up to `n` bytes in all
    /// (`read_chars`); `None` when there were none.
    fn chars(&mut self, out: &mut Vec<u8>, n: u64, limit: usize) -> Part {
        let mut left = limit;
        while (out.len() as u64) < n {
            let buf = self.fill();
            if buf.is_empty() {
                break;
            }
            let want = usize::try_from(n - out.len() as u64).unwrap_or(usize::MAX);
            let take = want.min(buf.len()).min(left);
            if !append(out, &buf[..take]) {
                return Part::NoRoom;
            }
            self.consume(take);
            left -= take;
            if left == 0 && (out.len() as u64) < n {
                return Part::More;
            }
        }
        Part::Done((!out.is_empty()).then(|| std::mem::take(out)))
    }

    /// A numeral (`read_number`): the longest prefix of the input that
    /// looks like one, read with one byte of look-ahead, then converted as
    /// `lua_stringtonumber` does. `None` when it is not a valid numeral or
    /// is longer than 200 bytes (whose bytes are consumed all the same).
    fn number(&mut self) -> Option<Value> {
        let mut rn = Numeral {
            reader: self,
            buf: Vec::with_capacity(MAX_NUMERAL_LEN),
            overflow: false,
        };
        // C's `isspace` in the "C" locale.
        while rn
            .reader
            .peek()
            .is_some_and(|c| matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r'))
        {
            rn.reader.consume(1);
        }
        rn.test2(b"-+");
        let mut count = 0;
        let mut hex = false;
        if rn.test2(b"00") {
            if rn.test2(b"xX") {
                hex = true;
            } else {
                count = 1;
            }
        }
        count += rn.digits(hex);
        if rn.test2(b"..") {
            count += rn.digits(hex);
        }
        if count > 0 && rn.test2(if hex { b"pP" } else { b"eE" }) {
            rn.test2(b"-+");
            rn.digits(false);
        }
        if rn.overflow {
            return None;
        }
        str_to_number(&rn.buf)
    }
}

/// The state of `read_number` (`RN`): the numeral read so far.
struct Numeral<'r, 'a> {
    reader: &'r mut Reader<'a>,
    buf: Vec<u8>,
    /// Whether the numeral outgrew `MAX_NUMERAL_LEN`, which invalidates it.
    overflow: bool,
}

impl Numeral<'_, '_> {
    /// Accepts the look-ahead byte (`nextc`); false when the numeral is
    /// already too long.
    fn next(&mut self) -> bool {
        if self.buf.len() >= MAX_NUMERAL_LEN {
            self.overflow = true;
            return false;
        }
        if let Some(c) = self.reader.peek() {
            self.buf.push(c);
            self.reader.consume(1);
        }
        true
    }

    /// Accepts the look-ahead byte if it is one of the two in `set`.
    fn test2(&mut self, set: &[u8; 2]) -> bool {
        match self.reader.peek() {
            Some(c) if set.contains(&c) => self.next(),
            _ => false,
        }
    }

    /// Accepts a run of (hex) digits and says how many.
    fn digits(&mut self, hex: bool) -> usize {
        let mut count = 0;
        while self.reader.peek().is_some_and(|c| {
            if hex {
                c.is_ascii_hexdigit()
            } else {
                c.is_ascii_digit()
            }
        }) && self.next()
        {
            count += 1;
        }
        count
    }
}

// ---------------------------------------------------------------------------
// Handles
// ---------------------------------------------------------------------------

/// A new file handle for `stream` (`newfile`).
fn new_file(vm: &mut Vm, stream: Stream) -> LuaResult<Value> {
    let registry = vm.registry();
    let mt = match vm.raw_get_str(registry, FILE_HANDLE) {
        Value::Table(mt) => Some(mt),
        _ => None,
    };
    // (Refused, the stream closes as it drops.)
    vm.make_room(OPEN_FILE_BYTES)?;
    let file = vm.new_userdata(Box::new(LuaFile {
        stream: Some(stream),
    }));
    // Its read and write buffers, as the memory limit counts them while
    // the handle is open (`close_handle` gives them back).
    vm.set_userdata_size(file, OPEN_FILE_BYTES);
    vm.set_metatable(file, mt)?;
    Ok(file)
}

/// What an open handle holds beside itself: its buffer (one of reading
/// or writing at a time, mostly).
const OPEN_FILE_BYTES: usize = BUFFER_SIZE;

/// Whether `v` is a file handle, and if so whether it is open.
fn file_state(vm: &Vm, v: Value) -> Option<bool> {
    vm.userdata_ref::<LuaFile>(v).map(|f| f.stream.is_some())
}

/// Argument `i` as a file handle, open or closed (`tolstream`).
fn check_handle(vm: &mut Vm, args: Args, i: usize) -> LuaResult<(Value, bool)> {
    let v = vm.arg(args, i);
    match file_state(vm, v) {
        Some(open) => Ok((v, open)),
        None => Err(vm.type_error_arg(args, i, FILE_HANDLE)),
    }
}

/// Argument 1 as an open file handle (`tofile`).
fn check_file(vm: &mut Vm, args: Args) -> LuaResult<Value> {
    match check_handle(vm, args, 1)? {
        (v, true) => Ok(v),
        (_, false) => Err(vm.error("attempt to use a closed file")),
    }
}

/// The default input or output file, which must be open (`getiofile`).
fn default_file(vm: &mut Vm, key: &str) -> LuaResult<Value> {
    let registry = vm.registry();
    let v = vm.raw_get_str(registry, key);
    if file_state(vm, v) == Some(true) {
        return Ok(v);
    }
    let which = key.strip_prefix("_IO_").unwrap_or(key);
    Err(vm.error(&format!("default {which} file is closed")))
}

/// Runs `f` on the stream of the open handle `file`, with the VM free for
/// reading arguments and raising errors meanwhile.
fn with_stream<T>(vm: &mut Vm, file: Value, f: impl FnOnce(&mut Vm, &mut Stream) -> T) -> T {
    let mut stream = vm
        .userdata_mut::<LuaFile>(file)
        .and_then(|h| h.stream.take())
        .expect("the handle was checked to be open");
    let r = f(vm, &mut stream);
    // `f` runs no Lua code, so the handle is still the one it was.
    if let Some(h) = vm.userdata_mut::<LuaFile>(file) {
        h.stream = Some(stream);
    }
    r
}

/// Closes the open handle `file` and pushes `close`'s results
/// (`aux_close`).
fn close_handle(vm: &mut Vm, file: Value) -> LuaResult<Step> {
    let Some(stream) = vm
        .userdata_mut::<LuaFile>(file)
        .and_then(|h| h.stream.take())
    else {
        unreachable!("the handle was checked to be open")
    };
    vm.set_userdata_size(file, 0);
    match close_stream(stream) {
        Ok(Closed::File(r)) => file_result(vm, r.map(|()| Value::Bool(true)), None),
        Ok(Closed::Pipe(Ok(status))) => exec_result(vm, status),
        Ok(Closed::Pipe(Err(e))) => file_result(vm, Err(e), None),
        Err(standard) => {
            // `io_noclose`: the standard files stay open.
            if let Some(h) = vm.userdata_mut::<LuaFile>(file) {
                h.stream = Some(standard);
            }
            let msg = vm.new_str(b"cannot close standard file");
            vm.push(Value::Nil);
            vm.push(msg);
            Ok(Step::Return(2))
        }
    }
}

// ---------------------------------------------------------------------------
// Results
// ---------------------------------------------------------------------------

/// Returns the single result `v`.
fn ret(vm: &mut Vm, v: Value) -> LuaResult<Step> {
    vm.push(v);
    Ok(Step::Return(1))
}

// ---------------------------------------------------------------------------
// Reading and writing
// ---------------------------------------------------------------------------

/// A format of `read` (`g_read`'s switch).
enum Format {
    /// "n": a numeral.
    Number,
    /// "l" (chop the newline) or "L" (keep it).
    Line { keep_newline: bool },
    /// "a": the rest of the file.
    All,
    /// A count: so many bytes, or for 0 a test for the end of file.
    Count(u64),
}

/// Format `v`, argument `i` of the call (a stack index, as PUC Lua counts
/// them, so the message after a method call names the right one).
fn parse_format(vm: &mut Vm, v: Value, i: usize) -> LuaResult<Format> {
    let n = match v {
        Value::Int(n) => n,
        Value::Num(f) => match float_to_int_exact(f) {
            Some(n) => n,
            None => return Err(vm.arg_error(i, "number has no integer representation")),
        },
        Value::Str(_) => {
            let p = vm.str_bytes(v).unwrap_or_default();
            let p = p.strip_prefix(b"*").unwrap_or(p);
            return match p.first() {
                Some(b'n') => Ok(Format::Number),
                Some(b'l') => Ok(Format::Line {
                    keep_newline: false,
                }),
                Some(b'L') => Ok(Format::Line { keep_newline: true }),
                Some(b'a') => Ok(Format::All),
                _ => Err(vm.arg_error(i, "invalid format")),
            };
        }
        _ => {
            let got = vm.type_name_of(v);
            return Err(vm.arg_error(i, &format!("string expected, got {got}")));
        }
    };
    // C converts the count to `size_t`: a negative one asks for a buffer
    // larger than memory.
    match u64::try_from(n) {
        Ok(n) => Ok(Format::Count(n)),
        Err(_) => Err(LuaError::new(vm.new_str(b"not enough memory"))),
    }
}

/// One result of a read.
enum Got {
    Str(Vec<u8>),
    Number(Value),
}

/// How far one step of reading a format got.
enum Part {
    /// The format is read: its string, or `None` when it failed.
    Done(Option<Vec<u8>>),
    /// It wants more bytes than a step takes.
    More,
    /// The allocator refused room for the bytes read (`append`): "not
    /// enough memory", not an abort, even without a memory limit.
    NoRoom,
}

/// Appends `bytes` to `out`, its room made fallibly (and amortized, as
/// `extend_from_slice` makes it); false when the allocator refuses.
fn append(out: &mut Vec<u8>, bytes: &[u8]) -> bool {
    if out.try_reserve(bytes.len()).is_err() {
        return false;
    }
    out.extend_from_slice(bytes);
    true
}

/// What `g_read` found: its results (the last one `None` when it failed,
/// which ends the reading), or the error that ended the data.
type ReadOutcome = Result<Vec<Option<Got>>, io::Error>;

/// Where a read stands between two steps (kept in a userdata while the
/// run is suspended): the next format, the results so far, and the bytes
/// of the format being read.
#[derive(Default)]
struct ReadState {
    k: usize,
    got: Vec<Option<Got>>,
    partial: Vec<u8>,
}

impl ReadState {
    /// Bytes held: the strings read so far and the one being read.
    fn bytes(&self) -> usize {
        let got: usize = self
            .got
            .iter()
            .map(|g| match g {
                Some(Got::Str(s)) => s.capacity(),
                _ => 0,
            })
            .sum();
        got + self.partial.capacity()
    }
}

/// Reads `formats` (a line when there are none) from the open handle
/// `file` (`g_read`) from where `st` stands; `first` is the stack index of
/// the first format. Reads in steps of `STEP_BYTES`, each paid for, and
/// stops between two when the budget is spent (`Ok(None)`, `st` keeping
/// the progress), so that a long read (a huge file, `/dev/zero`) comes
/// back to the driver; a memory limit is checked at every step.
fn read_formats(
    vm: &mut Vm,
    file: Value,
    formats: &[Value],
    first: usize,
    st: &mut ReadState,
) -> LuaResult<Option<ReadOutcome>> {
    with_stream(vm, file, |vm, stream| {
        stream.with_reader(|r| {
            let count = formats.len().max(1);
            while st.k < count {
                let format = match formats.get(st.k) {
                    None => Format::Line {
                        keep_newline: false,
                    },
                    Some(&v) => parse_format(vm, v, first + st.k)?,
                };
                let before = st.partial.len();
                let part = match format {
                    Format::Number => Part::Done(None),
                    Format::Line { keep_newline } => {
                        r.line(&mut st.partial, keep_newline, STEP_BYTES)
                    }
                    Format::All => r.all(&mut st.partial, STEP_BYTES),
                    Format::Count(0) => Part::Done(r.peek().map(|_| Vec::new())),
                    Format::Count(n) => r.chars(&mut st.partial, n, STEP_BYTES),
                };
                let item = match (format, part) {
                    (Format::Number, _) => r.number().map(Got::Number),
                    (_, Part::Done(s)) => s.map(Got::Str),
                    (_, Part::NoRoom) => return Err(vm.memory_error()),
                    (_, Part::More) => {
                        charge_bytes(vm, st.partial.len() - before)?;
                        vm.reserve_memory(st.partial.len())?;
                        if vm.budget_spent() {
                            return Ok(None);
                        }
                        continue;
                    }
                };
                if let Some(Got::Str(s)) = &item {
                    charge_bytes(vm, s.len().saturating_sub(before))?;
                    vm.reserve_memory(s.len())?;
                }
                let failed = item.is_none();
                st.got.push(item);
                st.k += 1;
                if failed {
                    break;
                }
            }
            Ok(Some(match r.error.take() {
                Some(e) => Err(e),
                None => Ok(std::mem::take(&mut st.got)),
            }))
        })
    })
}

/// Pushes the results of a read and returns them.
fn push_read(vm: &mut Vm, outcome: ReadOutcome) -> LuaResult<Step> {
    let got = match outcome {
        Ok(got) => got,
        Err(e) => return file_result(vm, Err(e), None),
    };
    let n = got.len();
    for item in got {
        let v = match item {
            Some(Got::Str(s)) => vm.new_str(&s),
            Some(Got::Number(v)) => v,
            None => Value::Nil,
        };
        vm.push(v);
    }
    Ok(Step::Return(n))
}

/// The arguments `from..` of the call.
fn args_from(vm: &Vm, args: Args, from: usize) -> Vec<Value> {
    (from..=args.len()).map(|i| vm.arg(args, i)).collect()
}

/// Writes arguments `from..` to the open handle `file` and returns it
/// (`g_write`).
fn write_args(vm: &mut Vm, args: Args, file: Value, from: usize) -> LuaResult<Step> {
    let bytes = (from..=args.len())
        .map(|i| vm.str_bytes(vm.arg(args, i)).map_or(0, <[u8]>::len))
        .sum();
    charge_bytes(vm, bytes)?;
    let failure = with_stream(vm, file, |vm, stream| {
        let mut failure = None;
        let mut number = Vec::new();
        for i in from..=args.len() {
            let v = vm.arg(args, i);
            let r = match v {
                // C's `fprintf` with "%d" or "%.14g"; tried even after a
                // failure, as PUC Lua evaluates it before testing status.
                Value::Int(_) | Value::Num(_) => {
                    number.clear();
                    format_number(v, &mut number);
                    stream.write(&number)
                }
                // Later strings are not written once a write failed.
                _ => {
                    let s = vm.check_string(args, i)?;
                    match failure {
                        Some(_) => continue,
                        None => stream.write(vm.str_bytes(s).unwrap_or_default()),
                    }
                }
            };
            if let Err(e) = r {
                failure = Some(e);
            }
        }
        Ok::<_, LuaError>(failure)
    })?;
    match failure {
        Some(e) => file_result(vm, Err(e), None),
        None => ret(vm, file),
    }
}

/// A number as `g_write` prints it: "%d" for integers, "%.14g" for
/// floats (so 1.0 prints as "1", unlike `tostring`).
fn format_number(v: Value, out: &mut Vec<u8>) {
    match v {
        Value::Int(n) => fmt_int(n, out),
        Value::Num(f) => {
            let start = out.len();
            fmt_float(f, out);
            // `tostring`'s ".0" marks a float that "%.14g" wrote as digits
            // alone; "%.14g" itself never ends in ".0".
            if out[start..].ends_with(b".0") {
                out.truncate(out.len() - 2);
            }
        }
        _ => {}
    }
}

// ---------------------------------------------------------------------------
// The io functions
// ---------------------------------------------------------------------------

/// `io.close([file])`: closes `file`, or the default output.
fn io_close(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    if args.is_empty() {
        let registry = vm.registry();
        let file = vm.raw_get_str(registry, IO_OUTPUT_KEY);
        return match file_state(vm, file) {
            Some(true) => close_handle(vm, file),
            _ => Err(vm.error("attempt to use a closed file")),
        };
    }
    f_close(vm, args)
}

/// `io.flush()`: flushes the default output.
fn io_flush(vm: &mut Vm, _args: Args) -> LuaResult<Step> {
    let file = default_file(vm, IO_OUTPUT_KEY)?;
    let r = with_stream(vm, file, |_, s| s.flush());
    file_result(vm, r.map(|()| Value::Bool(true)), None)
}

/// `io.input([file])`: sets (from a name or a handle) and returns the
/// default input.
fn io_input(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    default_io(vm, args, IO_INPUT_KEY, b"r")
}

/// `io.output([file])`: sets (from a name or a handle) and returns the
/// default output.
fn io_output(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    default_io(vm, args, IO_OUTPUT_KEY, b"w")
}

/// `g_iofile`: a name is opened in `mode`, a handle must be open.
fn default_io(vm: &mut Vm, args: Args, key: &str, mode: &[u8]) -> LuaResult<Step> {
    let registry = vm.registry();
    if !vm.is_none_or_nil(args, 1) {
        let file = match vm.arg(args, 1) {
            Value::Str(_) | Value::Int(_) | Value::Num(_) => {
                let name = check_c_string(vm, args, 1)?;
                open_checked(vm, &name, mode)?
            }
            _ => check_file(vm, args)?,
        };
        vm.raw_set_str(registry, key, file)?;
    }
    let file = vm.raw_get_str(registry, key);
    ret(vm, file)
}

/// Opens `name` in a mode known to be valid, raising "cannot open file"
/// on failure (`opencheckfile`).
fn open_checked(vm: &mut Vm, name: &[u8], mode: &[u8]) -> LuaResult<Value> {
    match open_file(name, mode) {
        Ok(stream) => new_file(vm, stream),
        Err(e) => {
            let msg = format!(
                "cannot open file '{}' ({})",
                String::from_utf8_lossy(name),
                crate::auxlib::os_error_text(&e)
            );
            Err(vm.error(&msg))
        }
    }
}

/// Whether `mode` is one `io.open` accepts (`l_checkmode`): "r", "w" or
/// "a", an optional "+", then any number of "b".
fn valid_mode(mode: &[u8]) -> bool {
    let rest = match mode {
        [b'r' | b'w' | b'a', b'+', rest @ ..] | [b'r' | b'w' | b'a', rest @ ..] => rest,
        _ => return false,
    };
    rest.iter().all(|&c| c == b'b')
}

/// `fopen(name, mode)` for a valid `mode`.
fn open_file(name: &[u8], mode: &[u8]) -> io::Result<Stream> {
    let plus = mode.get(1) == Some(&b'+');
    let mut options = OpenOptions::new();
    let (readable, writable) = match mode[0] {
        b'r' => {
            options.read(true).write(plus);
            (true, plus)
        }
        b'w' => {
            options.write(true).read(plus).create(true).truncate(true);
            (plus, true)
        }
        _ => {
            options.append(true).read(plus).create(true);
            (plus, true)
        }
    };
    let file = options.open(OsStr::from_bytes(name))?;
    Ok(Stream::File(Buffered::new(
        Raw::File(file),
        readable,
        writable,
    )))
}

/// `io.open(name [, mode])`: a handle, or `nil, "name: message", errno`.
fn io_open(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    let name = check_c_string(vm, args, 1)?;
    let mode = match vm.opt_string(args, 2)? {
        Some(s) => until_nul(vm.str_bytes(s).unwrap_or_default()).to_vec(),
        None => b"r".to_vec(),
    };
    if !valid_mode(&mode) {
        return Err(vm.arg_error(2, "invalid mode"));
    }
    let r = match open_file(&name, &mode) {
        Ok(stream) => Ok(new_file(vm, stream)?),
        Err(e) => Err(e),
    };
    file_result(vm, r, Some(&name))
}

/// `io.lines([name, ...])`: an iterator reading the formats from the named
/// file (closed at the end, and returned fourth as the loop's to-be-closed
/// value) or from the default input.
fn io_lines(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    if vm.is_none_or_nil(args, 1) {
        let registry = vm.registry();
        let file = vm.raw_get_str(registry, IO_INPUT_KEY);
        if file_state(vm, file) != Some(true) {
            return Err(vm.error("attempt to use a closed file"));
        }
        return lines_iterator(vm, args, file, false);
    }
    let name = check_c_string(vm, args, 1)?;
    let file = open_checked(vm, &name, b"r")?;
    lines_iterator(vm, args, file, true)?;
    vm.push(Value::Nil);
    vm.push(Value::Nil);
    vm.push(file);
    Ok(Step::Return(4))
}

/// Pushes an iterator reading arguments `2..` as formats from `file`
/// (`aux_lines`).
fn lines_iterator(vm: &mut Vm, args: Args, file: Value, close_at_end: bool) -> LuaResult<Step> {
    let formats = args_from(vm, args, 2);
    if formats.len() > MAX_LINES_FORMATS {
        return Err(vm.arg_error(MAX_LINES_FORMATS + 2, "too many arguments"));
    }
    let mut upvals = vec![
        file,
        Value::Int(formats.len() as i64),
        Value::Bool(close_at_end),
    ];
    upvals.extend(formats);
    let f = vm.new_native_closure(&READLINE, upvals)?;
    ret(vm, f)
}

/// The iterator of `lines` (`io_readline`); its upvalues are the file,
/// the format count, whether to close the file at the end, and the
/// formats.
fn io_readline(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    let file = vm.upvalue(args, 1);
    if file_state(vm, file) != Some(true) {
        return Err(vm.error("file is already closed"));
    }
    read_run(vm, args, file, LINES, ReadState::default(), false)
}

/// The formats of a `lines` iterator (its upvalues).
fn lines_formats(vm: &Vm, args: Args) -> Vec<Value> {
    // The count is an upvalue `debug.setupvalue` may change: never more
    // formats than `lines` can store.
    let n = match vm.upvalue(args, 2) {
        Value::Int(n) => usize::try_from(n).unwrap_or(0).min(MAX_LINES_FORMATS),
        _ => 0,
    };
    (4..4 + n).map(|i| vm.upvalue(args, i)).collect()
}

/// The context of a read standing for a `lines` iterator; any other is
/// the stack index of the first format among the arguments.
const LINES: i64 = 0;

/// Runs a read (`io.read`, `file:read`, a `lines` iterator: `how`) from
/// `st` until it ends, or pauses it between two steps when the budget is
/// spent, its handle and state (a userdata holding the `ReadState`) then
/// above the arguments; `paused` when they are there already.
fn read_run(
    vm: &mut Vm,
    args: Args,
    file: Value,
    how: i64,
    mut st: ReadState,
    paused: bool,
) -> LuaResult<Step> {
    let (formats, first) = match how {
        LINES => (lines_formats(vm, args), 2),
        first => (args_from(vm, args, first as usize), first as usize),
    };
    let Some(outcome) = read_formats(vm, file, &formats, first, &mut st)? else {
        let at = args.len();
        let size = st.bytes();
        if paused {
            let state = vm.frame_get(args, at + 1);
            if let Some(s) = vm.userdata_mut::<ReadState>(state) {
                *s = st;
            }
            vm.set_userdata_size(state, size);
        } else {
            vm.push(file);
            let state = vm.new_userdata(Box::new(st));
            vm.set_userdata_size(state, size);
            vm.push(state);
        }
        return Ok(vm.pausek(&READ_K, how));
    };
    if how != LINES {
        return push_read(vm, outcome);
    }
    match outcome {
        Ok(got) if matches!(got.first(), Some(Some(_))) => push_read(vm, Ok(got)),
        Ok(_) => {
            if vm.upvalue(args, 3).truthy() {
                close_handle(vm, file)?;
            }
            Ok(Step::Return(0))
        }
        Err(e) => Err(vm.error(&crate::auxlib::os_error_text(&e))),
    }
}

/// Continues a read paused between two steps. The handle may have been
/// closed meanwhile (by another coroutine).
fn read_k(vm: &mut Vm, args: Args, _status: Status, how: i64) -> LuaResult<Step> {
    let at = args.len();
    let file = vm.frame_get(args, at);
    let state = vm.frame_get(args, at + 1);
    let st = vm
        .userdata_mut::<ReadState>(state)
        .map(std::mem::take)
        .unwrap_or_default();
    if file_state(vm, file) != Some(true) {
        return Err(vm.error("file is already closed"));
    }
    read_run(vm, args, file, how, st, true)
}

/// `io.popen(command [, mode])`: a handle reading the output of `command`
/// run by `/bin/sh` ("r") or writing its input ("w").
fn io_popen(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    let command = check_c_string(vm, args, 1)?;
    // Only "r" and "w" are valid: two bytes tell them from anything else.
    let mode = match vm.opt_string(args, 2)? {
        Some(s) => {
            let m = vm.str_bytes(s).unwrap_or_default();
            until_nul(&m[..m.len().min(2)]).to_vec()
        }
        None => b"r".to_vec(),
    };
    let reading = match &mode[..] {
        b"r" => true,
        b"w" => false,
        _ => return Err(vm.arg_error(2, "invalid mode")),
    };
    // What the script printed comes before what the command prints.
    let _ = io::stdout().flush();
    let mut cmd = Command::new(SHELL);
    cmd.arg("-c").arg(OsStr::from_bytes(&command));
    if reading {
        cmd.stdout(Stdio::piped());
    } else {
        cmd.stdin(Stdio::piped());
    }
    let r = cmd.spawn().map(|mut child| {
        let raw = match (child.stdout.take(), child.stdin.take()) {
            (Some(out), _) => Raw::PipeIn(out),
            (None, Some(input)) => Raw::PipeOut(input),
            (None, None) => unreachable!("one end of the pipe was asked for"),
        };
        new_file(
            vm,
            Stream::Pipe(Buffered::new(raw, reading, !reading), child),
        )
    });
    let r = match r {
        Ok(file) => Ok(file?),
        Err(e) => Err(e),
    };
    file_result(vm, r, Some(&command))
}

/// `io.read(...)`: reads from the default input.
fn io_read(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    let file = default_file(vm, IO_INPUT_KEY)?;
    read_run(vm, args, file, 1, ReadState::default(), false)
}

/// `io.tmpfile()`: a new file for reading and writing, removed when
/// closed (C's `tmpfile`).
fn io_tmpfile(vm: &mut Vm, _args: Args) -> LuaResult<Step> {
    let r = temporary_file().map(|file| {
        let stream = Stream::File(Buffered::new(Raw::File(file), true, true));
        new_file(vm, stream)
    });
    let r = match r {
        Ok(file) => Ok(file?),
        Err(e) => Err(e),
    };
    file_result(vm, r, None)
}

/// C's `tmpfile`, whose descriptor is handed over to a `File`.
fn temporary_file() -> io::Result<File> {
    // SAFETY: `tmpfile` returns a new stream or null. The stream's
    // descriptor is duplicated before `fclose` releases the stream, so the
    // `File` owns the only copy left of the (already unlinked) file.
    unsafe {
        let stream = libc::tmpfile();
        if stream.is_null() {
            return Err(io::Error::last_os_error());
        }
        let fd = libc::dup(libc::fileno(stream));
        let dup_error = io::Error::last_os_error();
        libc::fclose(stream);
        if fd < 0 {
            return Err(dup_error);
        }
        Ok(File::from_raw_fd(fd))
    }
}

/// `io.type(v)`: "file", "closed file", or nil for anything else.
fn io_type(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    let v = vm.check_any(args, 1)?;
    let r = match file_state(vm, v) {
        Some(true) => vm.new_str(b"file"),
        Some(false) => vm.new_str(b"closed file"),
        None => Value::Nil,
    };
    ret(vm, r)
}

/// `io.write(...)`: writes to the default output and returns it.
fn io_write(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    let file = default_file(vm, IO_OUTPUT_KEY)?;
    write_args(vm, args, file, 1)
}

// ---------------------------------------------------------------------------
// Methods and metamethods
// ---------------------------------------------------------------------------

/// `file:close()`: `true`, `nil, message, errno`, or for a pipe how its
/// command ended.
fn f_close(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    let file = check_file(vm, args)?;
    close_handle(vm, file)
}

/// `file:flush()`.
fn f_flush(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    let file = check_file(vm, args)?;
    let r = with_stream(vm, file, |_, s| s.flush());
    file_result(vm, r.map(|()| Value::Bool(true)), None)
}

/// `file:lines(...)`: an iterator reading the formats; the file stays
/// open at the end.
fn f_lines(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    let file = check_file(vm, args)?;
    lines_iterator(vm, args, file, false)
}

/// `file:read(...)`.
fn f_read(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    let file = check_file(vm, args)?;
    read_run(vm, args, file, 2, ReadState::default(), false)
}

/// `file:seek([whence [, offset]])`: moves and returns the position.
fn f_seek(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    let file = check_file(vm, args)?;
    let whence = vm.check_option(args, 2, Some("cur"), &["set", "cur", "end"])?;
    let offset = vm.opt_integer(args, 3, 0)?;
    let pos = match whence {
        // A negative start is refused before the system is asked.
        0 => u64::try_from(offset).map(SeekFrom::Start).ok(),
        1 => Some(SeekFrom::Current(offset)),
        _ => Some(SeekFrom::End(offset)),
    };
    let r = match pos {
        Some(pos) => with_stream(vm, file, |_, s| s.seek(pos)),
        None => Err(os_error(libc::EINVAL)),
    };
    // Positions beyond `i64::MAX` cannot be reached with `i64` offsets.
    file_result(vm, r.map(|at| Value::Int(at as i64)), None)
}

/// `file:setvbuf(mode [, size])`: "no", "full" or "line" buffering. The
/// size is checked but, as glibc does when it allocates the buffer, not
/// used.
fn f_setvbuf(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    let file = check_file(vm, args)?;
    let mode = match vm.check_option(args, 2, None, &["no", "full", "line"])? {
        0 => BufMode::No,
        1 => BufMode::Full,
        _ => BufMode::Line,
    };
    vm.opt_integer(args, 3, BUFFER_SIZE as i64)?;
    with_stream(vm, file, |_, s| s.set_mode(mode));
    ret(vm, Value::Bool(true))
}

/// `file:write(...)`: returns the file, for chaining.
fn f_write(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    let file = check_file(vm, args)?;
    write_args(vm, args, file, 2)
}

/// `__gc` and `__close`: closes the file if it is open, ignoring errors.
fn f_gc(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    let (file, open) = check_handle(vm, args, 1)?;
    if open {
        close_handle(vm, file)?;
    }
    Ok(Step::Return(0))
}

/// `__tostring`: "file (0x...)" or "file (closed)".
fn f_tostring(vm: &mut Vm, args: Args) -> LuaResult<Step> {
    let (file, open) = check_handle(vm, args, 1)?;
    let text = match open {
        true => format!("file ({})", vm.address(file)),
        false => "file (closed)".to_string(),
    };
    let s = vm.new_str(text.as_bytes());
    ret(vm, s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_are_those_of_l_checkmode() {
        for ok in ["r", "w", "a", "r+", "w+", "a+", "rb", "r+b", "rbb", "a+bb"] {
            assert!(valid_mode(ok.as_bytes()), "{ok}");
        }
        for bad in ["", "x", "rw", "rb+", "+", "r++", "wt", "b"] {
            assert!(!valid_mode(bad.as_bytes()), "{bad}");
        }
    }

    /// What `read("n")` makes of `input`, and what it leaves unread.
    fn numeral(input: &[u8]) -> (String, Vec<u8>) {
        let mut src = input;
        let mut r = Reader::new(&mut src);
        let v = match r.number() {
            Some(Value::Int(n)) => format!("int {n}"),
            Some(Value::Num(f)) => format!("float {f}"),
            Some(_) => unreachable!("numerals are numbers"),
            None => "fail".to_string(),
        };
        match r.all(&mut Vec::new(), usize::MAX) {
            Part::Done(rest) => (v, rest.unwrap_or_default()),
            Part::More | Part::NoRoom => unreachable!("no limit, little input"),
        }
    }

    #[test]
    fn numerals_read_as_read_number_does() {
        assert_eq!(numeral(b"  12 x"), ("int 12".into(), b" x".to_vec()));
        assert_eq!(numeral(b"0x1p4z"), ("float 16".into(), b"z".to_vec()));
        assert_eq!(numeral(b"-.5e+1,"), ("float -5".into(), b",".to_vec()));
        // The look-ahead stops at the first byte that cannot continue.
        assert_eq!(numeral(b"1e+x"), ("fail".into(), b"x".to_vec()));
        assert_eq!(numeral(b"0x"), ("fail".into(), Vec::new()));
        let long = [b'1'; 201];
        assert_eq!(numeral(&long), ("fail".into(), b"1".to_vec()));
    }

    #[test]
    fn floats_print_as_percent_14g() {
        let mut out = Vec::new();
        for v in [
            Value::Num(1.0),
            Value::Num(-0.0),
            Value::Num(0.5),
            Value::Int(7),
        ] {
            format_number(v, &mut out);
            out.push(b' ');
        }
        assert_eq!(out, b"1 -0 0.5 7 ");
    }
}
