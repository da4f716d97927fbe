// Small DOM helpers shared by the window's modules.

export const $ = (id) => document.getElementById(id);

export function button(text, cls, onclick, id) {
  const b = document.createElement("button");
  b.textContent = text;
  b.className = cls;
  if (id) b.id = id;
  b.onclick = onclick;
  return b;
}

export function toast(text) {
  const t = $("toast");
  t.textContent = text;
  t.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { t.hidden = true; }, 5000);
}
