package dev.cumulus.vertx;

import io.vertx.core.Handler;
import io.vertx.core.MultiMap;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.Cookie;
import io.vertx.core.http.CookieSameSite;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.net.SocketAddress;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.Map;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.jspecify.annotations.Nullable;

/**
 * The routes of the live dashboard: {@code GET /dashboard} (the page), {@code GET /dashboard/stream}
 * (its data, server-sent events from a {@link DashboardFeed}) and the page's static files, all
 * shipped in the jar.
 *
 * <h2>The bearer token in a browser</h2>
 * A browser cannot add an {@code Authorization} header to a page it navigates to, nor to an
 * {@code EventSource}. So, when the gateway has a token, the page and the stream accept either that
 * header (for scripts and proxies) or a <em>dashboard cookie</em>, which a browser gets by showing the
 * token once, in the sign-in form the page answers with: the form posts it (the gateway compares it
 * in constant time and answers with the cookie and a 303 to the page). A link can carry the token
 * after a {@code #}: {@code /dashboard#token=...}; browsers never send what follows the {@code #},
 * so the sign-in page's script takes it from there, removes it from the address bar and posts the
 * form. The token never travels in a URL the server sees: Vert.x Web logs every request's URI,
 * query string included, at trace level, and proxies log URIs too; a {@code ?token=} is refused
 * without being used. The gateway itself never logs the token nor puts it in the cookie.
 *
 * <p>The cookie holds a random 256-bit value of this gateway instance (compared in constant time too;
 * a restart signs every browser out), is {@code HttpOnly}, {@code SameSite=Lax} (a link from
 * elsewhere still opens the dashboard; no other site's page can read the stream, which has no CORS
 * headers), scoped to the dashboard's path, {@code Secure} over TLS, and opens the dashboard only: it
 * is not a token for the function routes.
 *
 * <p>The static files (script, style sheet, the charting library and its licence) are the same for
 * everyone and carry no data; they are served without a token, so that the sign-in page has its style.
 *
 * <p>Thread-safe.
 */
final class Dashboard {
  /** Files the page loads, with their content types. */
  private static final Map<String, String> ASSETS = Map.of(
      "app.js", "text/javascript; charset=utf-8",
      "app.css", "text/css; charset=utf-8",
      "uPlot.iife.min.js", "text/javascript; charset=utf-8",
      "uPlot.min.css", "text/css; charset=utf-8",
      "uPlot.LICENSE", "text/plain; charset=utf-8",
      "signin.js", "text/javascript; charset=utf-8",
      "favicon.svg", "image/svg+xml");
  private static final String CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:;"
      + " connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";
  /** What a path may hold to be written into a cookie's {@code Path} and a {@code Location}. */
  private static final Pattern SAFE_PATH = Pattern.compile("/[A-Za-z0-9/._~%-]*");
  private static final String HTML = "text/html; charset=utf-8";

  private final CumulusGateway gateway;
  private final DashboardFeed feed;
  private final Map<String, Buffer> assets;
  private final String page;
  private final String signInTemplate;
  /** Digest of the dashboard cookie's value; {@code null} when the gateway has no token. */
  private final byte @Nullable [] sessionDigest;
  private final @Nullable String session;

  Dashboard(CumulusGateway gateway, DashboardFeed feed, boolean tokenRequired) {
    this.gateway = gateway;
    this.feed = feed;
    this.assets = ASSETS.keySet().stream()
        .collect(Collectors.toUnmodifiableMap(name -> name, name -> Buffer.buffer(resource(name))));
    this.page = new String(resource("index.html"), StandardCharsets.UTF_8);
    this.signInTemplate = new String(resource("signin.html"), StandardCharsets.UTF_8);
    if (tokenRequired) {
      byte[] random = new byte[32];
      new SecureRandom().nextBytes(random);
      session = Base64.getUrlEncoder().withoutPadding().encodeToString(random);
      sessionDigest = CumulusGateway.sha256(session);
    } else {
      session = null;
      sessionDigest = null;
    }
  }

  private static byte[] resource(String name) {
    try (InputStream in = Dashboard.class.getResourceAsStream("dashboard/" + name)) {
      if (in == null) {
        throw new IllegalStateException("the dashboard's file " + name + " is missing from the jar");
      }
      return in.readAllBytes();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read the dashboard's file " + name, e);
    }
  }

  DashboardFeed feed() {
    return feed;
  }

  /** Adds the routes to {@code r}; {@code onFailure} answers what the router fails with. */
  void mount(Router r, Handler<RoutingContext> onFailure) {
    r.route("/dashboard")
        .handler(ctx -> {
          HttpMethod m = ctx.request().method();
          if (m.equals(HttpMethod.GET) || m.equals(HttpMethod.POST)) {
            ctx.next();
          } else {
            ctx.response().putHeader(HttpHeaders.ALLOW, "GET, POST");
            CumulusGateway.respond(ctx, new Failure(405, Failure.METHOD_NOT_ALLOWED, m + " is not allowed on "
                + "the dashboard; use GET (or POST to sign in)"));
          }
        })
        .failureHandler(onFailure);
    // A route of its own for the body handler: Vert.x Web runs it before the user handlers of its route.
    r.get("/dashboard").handler(this::page).failureHandler(onFailure);
    r.post("/dashboard").handler(BodyHandler.create(false).setBodyLimit(4_096)).handler(this::page)
        .failureHandler(onFailure);
    r.route("/dashboard/stream")
        .handler(CumulusGateway.only(HttpMethod.GET))
        .handler(this::stream)
        .failureHandler(onFailure);
    r.route("/dashboard/:file")
        .handler(CumulusGateway.only(HttpMethod.GET))
        .handler(this::asset)
        .failureHandler(onFailure);
  }

  private void page(RoutingContext ctx) {
    HttpServerRequest request = ctx.request();
    String path = ctx.normalizedPath();
    while (path.length() > 1 && path.endsWith("/")) {
      path = path.substring(0, path.length() - 1);
    }
    if (!SAFE_PATH.matcher(path).matches()) {
      CumulusGateway.respond(ctx, new Failure(400, Failure.BAD_REQUEST, "the dashboard's path has characters it cannot have"));
      return;
    }
    if (request.method().equals(HttpMethod.POST)) {
      signIn(ctx, path);
      return;
    }
    if (!ctx.normalizedPath().equals(path)) {
      see(ctx, path); // the page's relative links resolve against the path without a slash
      return;
    }
    if (request.getParam("token") != null) {
      // Not used: by now it may sit in a log. Say how to show it instead.
      html(ctx, 400, signInPage("A token in the address's query string reaches server and proxy logs, so it"
          + " was not used. Sign in here, or put it after a # in the link: /dashboard#token=..."));
      return;
    }
    if (!authorized(request)) {
      challenge(ctx.response(), request.getHeader(HttpHeaders.AUTHORIZATION) != null);
      if (acceptsHtml(request)) {
        html(ctx, 401, signInPage(""));
      } else {
        CumulusGateway.respond(ctx, new Failure(401, Failure.UNAUTHORIZED, "this dashboard needs the gateway's"
            + " bearer token: send Authorization: Bearer <token>, or open it in a browser and sign in"));
      }
      return;
    }
    html(ctx, 200, page);
  }

  /** The sign-in form's post: the token, once, for the dashboard's cookie. */
  private void signIn(RoutingContext ctx, String path) {
    HttpServerRequest request = ctx.request();
    String token = request.getFormAttribute("token");
    if (token == null || token.isBlank()) {
      html(ctx, 400, signInPage("Enter the gateway's bearer token."));
    } else if (session == null) {
      see(ctx, path); // the gateway needs no token
    } else if (gateway.tokenMatches(token.strip())) {
      ctx.response().addCookie(Cookie.cookie(cookieName(request), session)
          .setPath(path)
          .setHttpOnly(true)
          .setSameSite(CookieSameSite.LAX)
          .setSecure(request.isSSL()));
      see(ctx, path);
    } else {
      challenge(ctx.response(), true);
      html(ctx, 401, signInPage("That is not this gateway's token."));
    }
  }

  private void stream(RoutingContext ctx) {
    if (!authorized(ctx.request())) {
      challenge(ctx.response(), ctx.request().getHeader(HttpHeaders.AUTHORIZATION) != null);
      CumulusGateway.respond(ctx, new Failure(401, Failure.UNAUTHORIZED, "the dashboard's stream needs the"
          + " gateway's bearer token or the dashboard's cookie: open /dashboard and sign in"));
      return;
    }
    feed.watch(ctx.response());
  }

  private void asset(RoutingContext ctx) {
    String name = ctx.pathParam("file");
    Buffer body = name == null ? null : assets.get(name);
    if (name == null || body == null) {
      CumulusGateway.respond(ctx, new Failure(404, Failure.NOT_FOUND, "the dashboard has no file named '"
          + Failure.truncate(name == null ? "" : name, 64) + "'"));
      return;
    }
    ctx.response()
        .putHeader(HttpHeaders.CONTENT_TYPE, ASSETS.get(name))
        .putHeader(HttpHeaders.CACHE_CONTROL, "no-cache")
        .putHeader("X-Content-Type-Options", "nosniff")
        .end(body);
  }

  /** With a token: the bearer header, or the dashboard's cookie, each compared in constant time. */
  private boolean authorized(HttpServerRequest request) {
    byte[] expected = sessionDigest;
    if (expected == null) {
      return true;
    }
    if (gateway.bearerMatches(request.getHeader(HttpHeaders.AUTHORIZATION))) {
      return true;
    }
    // Every cookie of that name: a browser may hold one per path.
    for (Cookie c : request.cookies(cookieName(request))) {
      if (MessageDigest.isEqual(expected, CumulusGateway.sha256(c.getValue()))) {
        return true;
      }
    }
    return false;
  }

  /**
   * The cookie's name carries the server's port: browsers share cookies between the ports of a host,
   * and two gateways on one machine must not sign each other out.
   */
  private static String cookieName(HttpServerRequest request) {
    SocketAddress local = request.localAddress();
    return local == null || local.port() < 0 ? "cumulus_dashboard" : "cumulus_dashboard_" + local.port();
  }

  private static boolean acceptsHtml(HttpServerRequest request) {
    String accept = request.getHeader(HttpHeaders.ACCEPT);
    return accept != null && accept.contains("text/html");
  }

  private static void challenge(HttpServerResponse response, boolean triedOne) {
    response.putHeader("WWW-Authenticate", triedOne
        ? "Bearer realm=\"cumulus\", error=\"invalid_token\"" : "Bearer realm=\"cumulus\"");
  }

  /** 303 to the dashboard's bare path, to load the page with a GET. */
  private static void see(RoutingContext ctx, String path) {
    ctx.response().setStatusCode(303)
        .putHeader(HttpHeaders.LOCATION, path)
        .putHeader(HttpHeaders.CACHE_CONTROL, "no-store")
        .putHeader("Referrer-Policy", "no-referrer")
        .end();
  }

  private String signInPage(String message) {
    return signInTemplate.replace("{{message}}", escape(message)).replace("{{hidden}}", message.isEmpty() ? " hidden" : "");
  }

  private static void html(RoutingContext ctx, int status, String body) {
    MultiMap headers = ctx.response().headers();
    headers.set(HttpHeaders.CONTENT_TYPE, HTML)
        .set(HttpHeaders.CACHE_CONTROL, "no-store")
        .set("Content-Security-Policy", CSP)
        .set("X-Content-Type-Options", "nosniff")
        .set("Referrer-Policy", "no-referrer")
        .set("X-Frame-Options", "DENY");
    ctx.response().setStatusCode(status).end(body);
  }

  private static String escape(String s) {
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
  }
}
