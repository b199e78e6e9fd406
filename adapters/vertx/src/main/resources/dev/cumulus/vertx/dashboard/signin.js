/*
 * A link may carry the gateway's token after a '#': /dashboard#token=... Browsers never send that
 * part to the server (so it reaches no log); here it leaves the address bar and goes in the form's
 * body, once, for the dashboard's cookie.
 */
(function () {
  'use strict';
  var m = /^#token=(.+)$/.exec(location.hash);
  if (!m) { return; }
  history.replaceState(null, '', location.pathname + location.search);
  var token;
  try { token = decodeURIComponent(m[1]); } catch (e) { token = m[1]; }
  document.getElementById('token').value = token;
  document.getElementById('signin').submit();
}());
