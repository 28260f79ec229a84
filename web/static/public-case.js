// The public case page, the reporter's tracking page and the page of a report held for review.
// The tracking page keeps the follow-up secret from its fragment on this device, and after
// closure posts the reporter's answer (fixed or not, 1–5) to the follow-up endpoint.
import { T, api, errorText, toast } from './app.js';
import { rememberReport, secretFor, streetMap } from './public-common.js';

const card = document.getElementById('public-case');
if (card) {
  const lat = Number(card.dataset.lat), lon = Number(card.dataset.lon);
  const map = streetMap(document.getElementById('case-map'), { lat, lon, zoom: 17 });
  const color = card.dataset.status === 'closed' ? '#2e7d32' : '#d84315';
  L.circleMarker([lat, lon], { radius: 9, color, fillColor: color, fillOpacity: 0.8 }).addTo(map);
}

const form = document.getElementById('followup');
if (form) {
  const caseId = form.dataset.case;
  const secret = secretFor(caseId);
  if (!secret) {
    form.hidden = true;
    document.getElementById('no-token').hidden = false;
  } else {
    // Opened from the tracking link: keep the secret so this device can come back without it.
    if (location.hash.includes('t=')) rememberReport({ case_id: caseId, secret, at: new Date().toISOString() });
    const err = document.getElementById('followup-error');
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      err.textContent = '';
      if (!form.reportValidity()) return;
      const btn = form.querySelector('button[type=submit]');
      btn.disabled = true;
      const fixed = form.elements.fixed.value === 'true';
      const r = await api('POST', `/api/v1/public/cases/${encodeURIComponent(caseId)}/followup`, {
        token: secret,
        fixed,
        rating: Number(form.elements.rating.value),
        comment: form.elements.comment.value.trim(),
      });
      btn.disabled = false;
      if (!r.ok) { err.textContent = errorText(r); return; }
      toast(r.data.reopened
        ? T('已重新交办，谢谢您的反馈。', 'Sent back to be fixed; thank you.')
        : T('感谢您的评价！', 'Thank you for your rating!'));
      setTimeout(() => location.reload(), 800);
    });
  }
} else if (location.hash.includes('t=')) {
  // A held report's page, or a tracking page before closure: remember the link on this device.
  const held = document.getElementById('held');
  const secret = new URLSearchParams(location.hash.slice(1)).get('t');
  if (held) {
    const token = decodeURIComponent(location.pathname.split('/').pop());
    rememberReport({ token, secret, at: new Date().toISOString() });
    // An approved report's tracking page needs the same secret.
    const link = document.getElementById('to-case');
    if (link) link.href += location.hash;
  } else if (card) rememberReport({ case_id: card.dataset.case, secret, at: new Date().toISOString() });
}
