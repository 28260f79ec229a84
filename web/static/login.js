// Login through the JSON API; the server sets the HttpOnly session cookie.
const form = document.getElementById('login');
const err = document.getElementById('login-error');
const en = document.documentElement.lang.startsWith('en');
form.addEventListener('submit', async (e) => {
  e.preventDefault();
  err.textContent = '';
  if (!form.reportValidity()) return;
  const r = await fetch('/api/v1/auth/login', {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
    body: JSON.stringify({ username: form.username.value.trim(), password: form.password.value }),
  }).catch(() => null);
  if (r && r.ok) {
    location.href = form.dataset.next || '/';
    return;
  }
  const body = r ? await r.json().catch(() => ({})) : {};
  err.textContent = !r ? (en ? 'Network error.' : '网络错误。')
    : r.status === 401 ? (en ? 'Wrong username or password.' : '用户名或密码错误。')
    : (body.message || `${r.status}`);
});

// Demo servers list their accounts; picking one fills the form (the user still presses 登录).
for (const b of document.querySelectorAll('[data-demo-user]')) {
  b.addEventListener('click', () => {
    form.username.value = b.dataset.demoUser;
    form.password.value = b.dataset.demoPassword;
    form.querySelector('button[type=submit]').focus();
  });
}
