// Runs before the page paints: the stored theme, else the system's.
;(function () {
  var stored = null
  try {
    stored = localStorage.getItem('wtflow-theme')
  } catch {}
  var dark = stored ? stored === 'dark' : window.matchMedia && window.matchMedia('(prefers-color-scheme: dark)').matches
  document.documentElement.dataset.theme = dark ? 'dark' : 'light'
})()
