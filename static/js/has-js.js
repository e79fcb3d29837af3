// Runs before the page is drawn, so parts meant only with (or without) JavaScript never flash.
// A file, not an inline script: the Content-Security-Policy allows scripts from FoxWeb only.
document.documentElement.classList.add("js");
