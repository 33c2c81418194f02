// Runs before the first paint (a classic script in <head>): applies the
// stored language and elder mode to <html> so the page never flashes in the
// other language or size. Keys as in prefs.js.
(function () {
  'use strict';
  var root = document.documentElement;
  try {
    var language = localStorage.getItem('cityhost.language');
    if (language === 'en') {
      root.lang = 'en';
      // The static texts of index.html are Chinese: hidden until main.js has translated them.
      root.classList.add('i18n-pending');
    }
    if (localStorage.getItem('cityhost.elder') === '1') root.classList.add('elder');
  } catch (e) { /* storage unavailable: defaults */ }
})();
