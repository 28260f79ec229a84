// Evaluation: league table of one object kind over a period, chart of composites, drill-down to
// the cases behind each figure (explain=true), exports and publishing.
import { T, api, errorText, toast } from './app.js';

const form = document.getElementById('period');
const ranking = document.getElementById('ranking');
const drill = document.getElementById('drill');
let chart = null;
// Display names by object kind and id, rendered by the page (the evaluation carries ids).
const NAMES = JSON.parse(document.getElementById('object-names')?.textContent || '{}');
const nameOf = (o) => NAMES[o.kind]?.[o.id] || o.name || o.id;

function params() {
  return new URLSearchParams({ from: form.from.value, to: form.to.value });
}

function updateExports() {
  document.getElementById('export-xlsx').href = `/api/v1/evaluation/export.xlsx?${params()}`;
  document.getElementById('export-csv').href = `/api/v1/evaluation/export.csv?${params()}`;
  const report = params();
  report.set('kind', form.kind.value);
  if (document.documentElement.lang === 'en') report.set('lang', 'en');
  document.getElementById('report').href = `/api/v1/evaluation/report.html?${report}`;
}

// Names of the evaluation's figure ids (the standard's terms); unknown ids are shown as they are.
const FIGURES = {
  reports: ['上报数', 'Reports'], decided_reports: ['已处理上报数', 'Decided reports'], valid_reports: ['有效上报数', 'Valid reports'],
  effective_report_rate: ['有效上报率', 'Valid report rate'], on_time_verify_rate: ['按时核实率', 'On-time verification'],
  on_time_check_rate: ['按时核查率', 'On-time check'], accepted: ['受理数', 'Accepted'], on_time_accept_rate: ['按时受理率', 'On-time acceptance'],
  filings: ['立案数', 'Filings'], closings: ['结案数', 'Closings'], accurate_filing_rate: ['准确立案率', 'Accurate filing'],
  on_time_filing_rate: ['按时立案率', 'On-time filing'], on_time_closing_rate: ['按期结案率', 'On-time closing'],
  dispatches: ['派遣数', 'Dispatches'], accurate_dispatch_rate: ['准确派遣率', 'Accurate dispatch'], on_time_dispatch_rate: ['按时派遣率', 'On-time dispatch'],
  closing_rate: ['结案率', 'Closing rate'], disposal_rate: ['处置率', 'Disposal rate'], due: ['应处置数', 'Due'], extensions: ['延期数', 'Extensions'],
  filed: ['立案数', 'Filed'], handled: ['处置数', 'Handled'], on_time_disposal_rate: ['按期处置率', 'On-time disposal'],
  overdue_disposals: ['超期处置数', 'Late disposals'], returns: ['回退数', 'Returns'], rework_rate: ['返工率', 'Rework rate'],
  supervisions: ['督办数', 'Supervisions'], closed: ['结案数', 'Closed'], parked: ['挂账数', 'Parked'],
  public_report_rate: ['公众举报率', 'Public report rate'], public_verified: ['举报核实数', 'Public reports verified'],
};
const figName = (id) => (FIGURES[id] ? T(...FIGURES[id]) : id);

const fmt = (f) => (f.value === null || f.value === undefined ? '–'
  : f.denominator ? `${(100 * f.value).toFixed(1)}% (${f.numerator}/${f.denominator})` : String(f.numerator));

function cell(tr, text, tag = 'td') {
  const c = document.createElement(tag);
  c.textContent = text;
  tr.append(c);
  return c;
}

async function load() {
  updateExports();
  ranking.textContent = T('计算中…', 'Computing…');
  const q = params();
  q.set('kind', form.kind.value);
  const r = await api('GET', `/api/v1/evaluation?${q}`);
  if (!r.ok) { ranking.textContent = errorText(r); return; }
  document.getElementById('eval-source').textContent = `${r.data.from} – ${r.data.to}`;
  const s = r.data.scheme;
  document.getElementById('eval-scheme').textContent = s ? `v${s.version} ${s.name} (sha256 ${s.content_hash.slice(0, 12)})` : '–';
  const objects = [...r.data.evaluation.objects].sort((a, b) => (a.rank ?? 1e9) - (b.rank ?? 1e9));
  const figNames = [...new Set(objects.flatMap((o) => Object.keys(o.figures)))].slice(0, 6);
  const table = document.createElement('table');
  table.className = 'list';
  const head = document.createElement('tr');
  for (const h of [T('排名', 'Rank'), T('对象', 'Object'), T('综合指标值', 'Composite'), T('等级', 'Grade'), ...figNames.map(figName)]) cell(head, h, 'th').scope = 'col';
  table.createTHead().append(head);
  const body = table.createTBody();
  for (const o of objects) {
    const tr = document.createElement('tr');
    cell(tr, o.rank ?? '–');
    const name = cell(tr, '');
    const b = document.createElement('button');
    b.type = 'button';
    b.className = 'link';
    b.textContent = nameOf(o.object);
    b.addEventListener('click', () => explain(o.object));
    name.append(b);
    cell(tr, o.composite === null || o.composite === undefined ? '–' : o.composite.toFixed(2));
    cell(tr, o.grade ?? '–');
    for (const f of figNames) cell(tr, o.figures[f] ? fmt(o.figures[f]) : '–');
    body.append(tr);
  }
  ranking.innerHTML = '';
  ranking.append(table);
  const top = objects.filter((o) => typeof o.composite === 'number').slice(0, 20);
  chart ||= echarts.init(document.getElementById('chart-eval'));
  chart.setOption({
    title: { text: T('综合指标值', 'Composite score'), textStyle: { fontSize: 14 } },
    grid: { left: 45, right: 15, top: 35, bottom: 60 },
    xAxis: { type: 'category', data: top.map((o) => nameOf(o.object)), axisLabel: { rotate: 40 } },
    yAxis: { type: 'value', max: 100 },
    series: [{ type: 'bar', data: top.map((o) => Number(o.composite.toFixed(2))), itemStyle: { color: '#2980b9' } }],
    tooltip: {},
  }, true);
}

async function explain(object) {
  const q = params();
  q.set('kind', form.kind.value);
  q.set('explain', 'true');
  drill.hidden = false;
  const body = document.getElementById('drill-body');
  document.getElementById('drill-name').textContent = nameOf(object);
  body.textContent = T('加载中…', 'Loading…');
  const r = await api('GET', `/api/v1/evaluation?${q}`);
  if (!r.ok) { body.textContent = errorText(r); return; }
  const o = r.data.evaluation.objects.find((x) => x.object.id === object.id && x.object.kind === object.kind);
  body.innerHTML = '';
  if (!o) return;
  const dl = document.createElement('dl');
  dl.className = 'drill';
  for (const [name, f] of Object.entries(o.figures)) {
    const dt = document.createElement('dt');
    dt.textContent = `${figName(name)}: ${fmt(f)}`;
    const dd = document.createElement('dd');
    const ids = [...new Set([...(f.cases_num || []), ...(f.cases_den || [])])].slice(0, 200);
    for (const id of ids) {
      const a = document.createElement('a');
      a.href = `/cases/${encodeURIComponent(id)}`;
      a.textContent = id;
      a.className = (f.cases_num || []).includes(id) ? 'num' : 'den';
      dd.append(a, ' ');
    }
    dl.append(dt, dd);
  }
  body.append(dl);
  drill.scrollIntoView({ behavior: 'smooth' });
}

async function publications() {
  const ul = document.getElementById('publications');
  const r = await api('GET', '/api/v1/evaluation/publications');
  ul.innerHTML = '';
  if (!r.ok) return;
  for (const p of (Array.isArray(r.data) ? r.data : r.data.items || []).slice(0, 10)) {
    const li = document.createElement('li');
    li.textContent = `${p.period_from} – ${p.period_to} · ${T('发布于', 'published')} ${new Date(p.published_at).toLocaleString()} ${p.note || ''}`;
    ul.append(li);
  }
}

document.getElementById('publish').addEventListener('submit', async (e) => {
  e.preventDefault();
  const err = e.target.querySelector('.error');
  err.textContent = '';
  const r = await api('POST', '/api/v1/evaluation/publications', { from: form.from.value, to: form.to.value, note: e.target.note.value });
  if (r.ok) { toast(T('已发布', 'Published')); publications(); } else err.textContent = errorText(r);
});

form.addEventListener('submit', (e) => { e.preventDefault(); load(); });
form.kind.addEventListener('change', load);
for (const el of [form.from, form.to]) el.addEventListener('change', updateExports);
load();
publications();
