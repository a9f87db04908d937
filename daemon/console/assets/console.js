// omnisync console: small progressive enhancements; every page works without this file.
'use strict';
document.addEventListener('submit', (event) => {
  // Destructive actions (drop) ask first.
  const button = event.submitter;
  if (button && button.dataset.confirm && !window.confirm(button.textContent + '?')) event.preventDefault();
});
