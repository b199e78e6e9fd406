package dev.cumulus.vertx;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * HTTP/1.1 over a plain socket, for requests no well-behaved client sends: bytes that are not UTF-8,
 * a body shorter than its {@code Content-Length}, a request line or headers over the server's
 * limits. One request per connection; reads the answer until its body is complete or the server
 * closes the connection.
 */
final class RawHttp {
  private RawHttp() {}

  /** A parsed answer. */
  record Answer(int status, Map<String, String> headers, String body) {
    String header(String name) {
      return headers.get(name.toLowerCase(Locale.ROOT));
    }
  }

  /** Sends {@code request} (all of it, or as much as the server reads) and reads the answer. */
  static Answer send(int port, byte[] request) throws IOException {
    try (Socket socket = new Socket()) {
      socket.connect(new InetSocketAddress("127.0.0.1", port), 10_000);
      socket.setSoTimeout(30_000);
      OutputStream out = socket.getOutputStream();
      try {
        out.write(request);
        out.flush();
      } catch (SocketException e) {
        // The server may answer and close before it read everything (413, 431): read its answer.
      }
      return read(socket.getInputStream());
    }
  }

  /** Builds a request with the given head (request line and headers, CRLF-separated) and body. */
  static byte[] request(String head, byte[] body) {
    byte[] h = (head + "\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1);
    byte[] all = new byte[h.length + body.length];
    System.arraycopy(h, 0, all, 0, h.length);
    System.arraycopy(body, 0, all, h.length, body.length);
    return all;
  }

  private static Answer read(InputStream in) throws IOException {
    ByteArrayOutputStream buf = new ByteArrayOutputStream();
    int headEnd = -1;
    int contentLength = -1;
    byte[] chunk = new byte[8192];
    while (true) {
      int n;
      try {
        n = in.read(chunk);
      } catch (SocketException e) {
        n = -1; // reset after the answer: what arrived is the answer
      }
      if (n < 0) {
        break;
      }
      buf.write(chunk, 0, n);
      byte[] sofar = buf.toByteArray();
      if (headEnd < 0) {
        headEnd = indexOf(sofar, "\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
        if (headEnd >= 0) {
          String head = new String(sofar, 0, headEnd, StandardCharsets.ISO_8859_1);
          for (String line : head.split("\r\n")) {
            if (line.toLowerCase(Locale.ROOT).startsWith("content-length:")) {
              contentLength = Integer.parseInt(line.substring(15).strip());
            }
          }
        }
      }
      if (headEnd >= 0 && contentLength >= 0 && sofar.length >= headEnd + 4 + contentLength) {
        break;
      }
    }
    byte[] all = buf.toByteArray();
    if (headEnd < 0) {
      throw new IOException("no HTTP answer, got " + all.length + " bytes: "
          + new String(all, StandardCharsets.ISO_8859_1));
    }
    String[] lines = new String(all, 0, headEnd, StandardCharsets.ISO_8859_1).split("\r\n");
    int status = Integer.parseInt(lines[0].split(" ")[1]);
    Map<String, String> headers = new LinkedHashMap<>();
    for (int i = 1; i < lines.length; i++) {
      int colon = lines[i].indexOf(':');
      headers.put(lines[i].substring(0, colon).strip().toLowerCase(Locale.ROOT), lines[i].substring(colon + 1).strip());
    }
    int start = headEnd + 4;
    int end = contentLength >= 0 ? Math.min(all.length, start + contentLength) : all.length;
    return new Answer(status, headers, new String(all, start, end - start, StandardCharsets.UTF_8));
  }

  private static int indexOf(byte[] data, byte[] pattern) {
    outer:
    for (int i = 0; i + pattern.length <= data.length; i++) {
      for (int j = 0; j < pattern.length; j++) {
        if (data[i + j] != pattern[j]) {
          continue outer;
        }
      }
      return i;
    }
    return -1;
  }
}
