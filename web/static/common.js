/* voicedesk: what the customer's chat page and the agent console share.
 *
 * Loaded before either page's script; defines window.voicedeskChat. Every helper that puts
 * text on the page does so with textContent, never as HTML.
 */
(function () {
  'use strict';

  /* The element with data-testid="<testid>" (the pages' stable hooks). */
  function byTestId(testid) {
    return document.querySelector('[data-testid="' + testid + '"]');
  }

  /* A new element with an optional class and text (as text, never HTML). */
  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  /* A fresh id for a message: a resend after a reconnect carries the same one. */
  function newClientId() {
    if (window.crypto && typeof window.crypto.randomUUID === 'function') {
      return window.crypto.randomUUID();
    }
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    var hex = Array.prototype.map.call(bytes, function (b) {
      return (b + 0x100).toString(16).slice(1);
    }).join('');
    return hex.slice(0, 8) + '-' + hex.slice(8, 12) + '-' + hex.slice(12, 16) + '-' +
      hex.slice(16, 20) + '-' + hex.slice(20);
  }

  /* A lookup of the page's texts in the current language (Korean when a key is missing),
   * with {name} placeholders filled in from `values`. */
  function translator(texts, currentLanguage) {
    return function (key, values) {
      var table = texts[currentLanguage()] || texts.ko;
      var text = table[key] !== undefined ? table[key] : texts.ko[key];
      if (values && typeof text === 'string') {
        Object.keys(values).forEach(function (name) {
          text = text.split('{' + name + '}').join(String(values[name]));
        });
      }
      return text;
    };
  }

  window.voicedeskChat = {
    byTestId: byTestId,
    el: el,
    newClientId: newClientId,
    translator: translator,
  };
})();
