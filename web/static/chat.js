/* voicedesk: the customer's web chat (/chat/{token}).
 *
 * One websocket at location.pathname + '/ws'. The page says hello with the last message id it
 * has seen, so a reconnect (with backoff) neither loses nor repeats a message; messages typed
 * while offline wait in a queue and go out after the reconnect with the same client_id (the
 * server drops a client_id it already has). Everything the server or the customer supplies is
 * inserted as text (textContent), never as HTML.
 */
(function () {
  'use strict';

  var TEXT = {
    ko: {
      title: '상담 채팅',
      toldTitle: '전화로 알려주신 내용',
      toldHint: '상담원이 이 내용을 보고 있으니 다시 말씀하지 않으셔도 됩니다.',
      topicsLabel: '문의하신 내용',
      collectedLabel: '입력하신 정보',
      confirmed: '입력 완료',
      connecting: '연결 중…',
      online: '연결됨',
      reconnecting: '다시 연결하는 중…',
      offline: '연결 끊김',
      waiting: '상담원을 연결하고 있습니다…',
      activeNamed: '{name} 상담원이 상담 중입니다.',
      active: '상담원이 상담 중입니다.',
      closed: '상담이 종료되었습니다. 이용해 주셔서 감사합니다.',
      closedPlaceholder: '상담이 종료되었습니다',
      inputLabel: '메시지',
      placeholder: '메시지를 입력하세요',
      send: '보내기',
      you: '나',
      agent: '상담원',
      system: '안내',
      viaSms: '문자',
      sending: '보내는 중…',
      notSent: '보내지 못했습니다',
      linkRefused: '이 링크로는 더 이상 상담할 수 없습니다. 고객센터로 다시 연락해 주세요.',
      serverError: '오류: {error}',
      variables: {
        account_number: '계좌 번호',
        card_number: '카드 번호',
        phone: '전화번호',
        phone_number: '전화번호',
        birth_date: '생년월일',
        date_of_birth: '생년월일',
        customer_number: '고객 번호',
        pin: '비밀번호',
        password: '비밀번호'
      }
    },
    en: {
      title: 'Chat with us',
      toldTitle: 'What you told us on the call',
      toldHint: 'Our agent can see this, so there is no need to repeat it.',
      topicsLabel: 'You asked about',
      collectedLabel: 'You entered',
      confirmed: 'confirmed',
      connecting: 'Connecting…',
      online: 'Online',
      reconnecting: 'Reconnecting…',
      offline: 'Disconnected',
      waiting: 'Connecting you to an agent…',
      activeNamed: 'You are chatting with {name}.',
      active: 'You are chatting with an agent.',
      closed: 'This chat has ended. Thank you for contacting us.',
      closedPlaceholder: 'This chat has ended',
      inputLabel: 'Message',
      placeholder: 'Type a message',
      send: 'Send',
      you: 'You',
      agent: 'Agent',
      system: 'Notice',
      viaSms: 'SMS',
      sending: 'Sending…',
      notSent: 'Not sent',
      linkRefused: 'This chat link can no longer be used. Please contact us again.',
      serverError: 'Error: {error}',
      variables: {
        account_number: 'Account number',
        card_number: 'Card number',
        phone: 'Phone number',
        phone_number: 'Phone number',
        birth_date: 'Date of birth',
        date_of_birth: 'Date of birth',
        customer_number: 'Customer number',
        pin: 'PIN',
        password: 'Password'
      }
    }
  };

  var BACKOFF_MS = [500, 1000, 2000, 4000, 5000];
  var PING_MS = 15000; // the server counts a page silent for 30 s as gone (then it texts)
  // Closing codes after which reconnecting cannot help (the link is refused or expired).
  var FINAL_CLOSE_CODES = [1008, 4400, 4401, 4403, 4404, 4410];

  var lang = 'ko';
  var chat = null;
  var socket = null;
  var attempt = 0;
  var reconnectTimer = null;
  var pingTimer = null;
  var finished = false; // no more reconnects: the chat is closed or the link refused
  var opened = false; // the current socket reached 'open'
  var collapsedOnce = false;
  var lastId = 0;
  var shown = new Map(); // message id -> element
  var pending = new Map(); // client_id -> {body, el}, in the order typed

  var common = window.voicedeskChat;
  var $ = common.byTestId;
  var el = common.el;
  var newClientId = common.newClientId;
  var t = common.translator(TEXT, function () {
    return lang;
  });
  var ui = {};




  function formatTime(iso) {
    var date = new Date(iso);
    if (isNaN(date.getTime())) return '';
    try {
      return new Intl.DateTimeFormat(lang === 'en' ? 'en' : 'ko-KR', {
        hour: '2-digit',
        minute: '2-digit'
      }).format(date);
    } catch (e) {
      return date.toLocaleTimeString();
    }
  }

  /* ---- static texts ------------------------------------------------------------------- */

  function applyLanguage(language) {
    lang = TEXT[language] ? language : 'ko';
    document.documentElement.setAttribute('lang', lang);
    document.title = t('title');
    Array.prototype.forEach.call(document.querySelectorAll('[data-i18n]'), function (node) {
      if (node === ui.connection || node === ui.status) return; // they carry a state
      node.textContent = t(node.getAttribute('data-i18n'));
    });
    Array.prototype.forEach.call(
      document.querySelectorAll('[data-i18n-placeholder]'),
      function (node) {
        node.setAttribute('placeholder', t(node.getAttribute('data-i18n-placeholder')));
      }
    );
    if (ui.connection) setConnection(ui.connection.getAttribute('data-state') || 'connecting');
  }

  /* ---- connection --------------------------------------------------------------------- */

  function setConnection(state) {
    ui.connection.setAttribute('data-state', state);
    ui.connection.textContent = t(
      { online: 'online', connecting: 'connecting', offline: 'offline' }[state] || 'reconnecting'
    );
  }

  function socketUrl() {
    var scheme = location.protocol === 'https:' ? 'wss://' : 'ws://';
    return scheme + location.host + location.pathname.replace(/\/+$/, '') + '/ws';
  }

  function connect() {
    clearTimeout(reconnectTimer);
    reconnectTimer = null;
    if (finished) return;
    var ws;
    try {
      ws = new WebSocket(socketUrl());
    } catch (e) {
      scheduleReconnect();
      return;
    }
    socket = ws;
    opened = false;
    ws.addEventListener('open', function () {
      if (socket !== ws) return;
      opened = true;
      sendNow({ type: 'hello', after: lastId });
      setConnection('online');
      flushPending();
      clearInterval(pingTimer);
      pingTimer = setInterval(function () {
        sendNow({ type: 'ping' });
      }, PING_MS);
    });
    ws.addEventListener('message', function (event) {
      if (socket !== ws) return;
      var data;
      try {
        data = JSON.parse(event.data);
      } catch (e) {
        return;
      }
      handle(data);
    });
    ws.addEventListener('close', function (event) {
      if (socket !== ws) return;
      socket = null;
      clearInterval(pingTimer);
      if (FINAL_CLOSE_CODES.indexOf(event.code) >= 0) {
        finished = true;
        showError(t('linkRefused'), true);
        setComposerEnabled(false);
        setConnection('offline');
        return;
      }
      if (finished) {
        setConnection('offline');
        return;
      }
      setConnection('reconnecting');
      if (!opened) checkLink();
      scheduleReconnect();
    });
  }

  // A handshake that failed may mean the link expired meanwhile (the socket's HTTP answer is
  // invisible to scripts): the page's own URL answers 403/410 then, and retrying is pointless.
  function checkLink() {
    if (!window.fetch || checkLink.running || navigator.onLine === false) return;
    checkLink.running = true;
    fetch(location.pathname, { method: 'HEAD', cache: 'no-store', credentials: 'same-origin' })
      .then(function (response) {
        if (response.status === 403 || response.status === 410) {
          finished = true;
          clearTimeout(reconnectTimer);
          reconnectTimer = null;
          showError(t('linkRefused'), true);
          setComposerEnabled(false);
          setConnection('offline');
        }
      })
      .catch(function () { /* offline: the reconnect goes on */ })
      .then(function () {
        checkLink.running = false;
      });
  }

  function scheduleReconnect() {
    if (finished || reconnectTimer !== null) return;
    var delay = BACKOFF_MS[Math.min(attempt, BACKOFF_MS.length - 1)];
    attempt += 1;
    reconnectTimer = setTimeout(function () {
      reconnectTimer = null;
      connect();
    }, delay);
  }

  function sendNow(payload) {
    if (!socket || socket.readyState !== WebSocket.OPEN) return false;
    try {
      socket.send(JSON.stringify(payload));
      return true;
    } catch (e) {
      return false;
    }
  }

  /* ---- server messages ---------------------------------------------------------------- */

  function handle(data) {
    if (!data || typeof data !== 'object') return;
    if (data.type === 'chat' && data.chat) {
      attempt = 0; // a healthy connection: the next drop starts the backoff again
      showChat(data.chat);
    } else if (data.type === 'message' && data.message) {
      addMessage(data.message);
    } else if (data.type === 'error') {
      showError(t('serverError', { error: data.error || '' }));
      if (data.retry_after && data.client_id) resendLater(data.client_id, data.retry_after);
    }
  }

  // Over the rate limit the server takes nothing: the message stays pending and goes again.
  function resendLater(clientId, seconds) {
    setTimeout(function () {
      var entry = pending.get(clientId);
      if (entry) sendNow({ type: 'send', body: entry.body, client_id: clientId });
    }, Math.max(1, Number(seconds) || 1) * 1000);
  }

  function showChat(next) {
    var first = chat === null;
    chat = next;
    if (first || next.language !== lang) applyLanguage(next.language);
    renderTold(next);
    renderStatus(next);
    // Labels of the agent's earlier messages follow the current agent's name.
    shown.forEach(function (node) {
      if (node.getAttribute('data-sender') === 'agent') {
        node.querySelector('.msg__who').textContent = agentLabel();
      }
    });
  }

  function renderTold(current) {
    var topics = Array.isArray(current.topics) ? current.topics : [];
    var collected = Array.isArray(current.collected) ? current.collected : [];
    ui.topics.replaceChildren();
    topics.forEach(function (topic) {
      var item = el('li', null, topic);
      item.setAttribute('data-testid', 'topic');
      ui.topics.appendChild(item);
    });
    ui.collected.replaceChildren();
    collected.forEach(function (entry) {
      var item = el('li');
      item.setAttribute('data-testid', 'collected-item');
      item.setAttribute('data-sensitive', entry.sensitive ? 'true' : 'false');
      var name = String(entry.variable || '');
      var label = (TEXT[lang].variables || {})[name] || name.replace(/_/g, ' ');
      item.appendChild(el('span', 'told__name', label));
      if (entry.value !== null && entry.value !== undefined && entry.value !== '') {
        item.appendChild(el('span', 'told__value', entry.value));
      }
      if (entry.sensitive) item.appendChild(el('span', 'told__confirmed', t('confirmed')));
      ui.collected.appendChild(item);
    });
    ui.topicsSection.hidden = topics.length === 0;
    ui.collectedSection.hidden = collected.length === 0;
    ui.told.hidden = topics.length === 0 && collected.length === 0;
  }

  function renderStatus(current) {
    var status = current.status;
    ui.status.setAttribute('data-status', status);
    if (status === 'active') {
      ui.status.textContent = current.agent_name
        ? t('activeNamed', { name: current.agent_name })
        : t('active');
    } else if (status === 'closed') {
      ui.status.textContent = t('closed');
    } else {
      ui.status.textContent = t('waiting');
    }
    if (status === 'active' && !collapsedOnce && window.matchMedia('(max-width: 600px)').matches) {
      // On a phone the chat needs the room; the summary stays one tap away.
      collapsedOnce = true;
      ui.told.open = false;
    }
    if (status === 'closed') {
      finished = true;
      setComposerEnabled(false);
      pending.forEach(function (entry) {
        markFailed(entry.el);
      });
      pending.clear();
    } else {
      setComposerEnabled(true);
    }
  }

  function setComposerEnabled(enabled) {
    ui.input.disabled = !enabled;
    ui.send.disabled = !enabled;
    ui.input.setAttribute('placeholder', enabled ? t('placeholder') : t('closedPlaceholder'));
  }

  function showError(text, lasting) {
    ui.error.textContent = text;
    ui.error.hidden = false;
    clearTimeout(showError.timer);
    if (lasting) return;
    showError.timer = setTimeout(function () {
      ui.error.hidden = true;
    }, 8000);
  }

  function agentLabel() {
    return chat && chat.agent_name ? chat.agent_name : t('agent');
  }

  function messageNode(sender, body) {
    var mine = sender === 'customer';
    var node = el('li', 'msg' + (mine ? ' is-mine' : sender === 'system' ? ' is-system' : ''));
    node.setAttribute('data-sender', sender);
    var meta = el('div', 'msg__meta');
    var who = mine ? t('you') : sender === 'agent' ? agentLabel() : t('system');
    meta.appendChild(el('span', 'msg__who', who));
    node.appendChild(meta);
    var text = el('div', 'msg__body', body);
    text.setAttribute('data-testid', 'message-body');
    node.appendChild(text);
    return node;
  }

  function addMessage(message) {
    var id = Number(message.id);
    if (!Number.isFinite(id) || shown.has(id)) return; // already shown: a replay
    var sender = ['customer', 'agent', 'system'].indexOf(message.sender) >= 0
      ? message.sender
      : 'system';
    var node = messageNode(sender, message.body);
    node.setAttribute('data-testid', 'message');
    node.setAttribute('data-message-id', String(id));
    node.setAttribute('data-via', String(message.via || ''));
    var meta = node.querySelector('.msg__meta');
    var time = el('time', null, formatTime(message.at));
    if (message.at) time.setAttribute('datetime', String(message.at));
    meta.appendChild(time);
    if (message.via === 'sms') meta.appendChild(el('span', 'badge', t('viaSms')));

    if (message.client_id && pending.has(message.client_id)) {
      pending.get(message.client_id).el.remove();
      pending.delete(message.client_id);
    }
    // In id order, before the messages still on their way.
    var before = null;
    shown.forEach(function (other, otherId) {
      if (otherId > id && (before === null || otherId < Number(before.getAttribute('data-message-id')))) {
        before = other;
      }
    });
    if (before === null) before = ui.messages.querySelector('.is-pending');
    var stick = nearBottom();
    ui.messages.insertBefore(node, before);
    shown.set(id, node);
    if (id > lastId) lastId = id;
    if (stick || sender === 'customer') scrollToEnd();
  }

  function nearBottom() {
    var list = ui.messages;
    return list.scrollHeight - list.scrollTop - list.clientHeight < 80;
  }

  function scrollToEnd() {
    ui.messages.scrollTop = ui.messages.scrollHeight;
  }

  /* ---- sending ------------------------------------------------------------------------ */

  function markFailed(node) {
    node.classList.remove('is-pending');
    node.classList.add('is-failed');
    node.setAttribute('data-testid', 'failed-message');
    var note = node.querySelector('.msg__state');
    if (note) note.textContent = t('notSent');
  }

  function submit() {
    if (ui.input.disabled) return;
    var body = ui.input.value;
    if (!body.trim()) return;
    var clientId = newClientId();
    var node = messageNode('customer', body);
    node.classList.add('is-pending');
    node.setAttribute('data-testid', 'pending-message');
    node.setAttribute('data-client-id', clientId);
    node.querySelector('.msg__meta').appendChild(el('span', 'msg__state', t('sending')));
    ui.messages.appendChild(node);
    pending.set(clientId, { body: body, el: node });
    ui.input.value = '';
    scrollToEnd();
    sendNow({ type: 'send', body: body, client_id: clientId });
  }

  function flushPending() {
    pending.forEach(function (entry, clientId) {
      sendNow({ type: 'send', body: entry.body, client_id: clientId });
    });
  }

  /* ---- start -------------------------------------------------------------------------- */

  function start() {
    ui.connection = $('connection');
    ui.status = $('chat-status');
    ui.told = $('told');
    ui.topicsSection = $('topics-section');
    ui.topics = $('topics');
    ui.collectedSection = $('collected-section');
    ui.collected = $('collected');
    ui.messages = $('messages');
    ui.error = $('error');
    ui.form = $('composer');
    ui.input = $('composer-input');
    ui.send = $('send');

    applyLanguage('ko');
    setConnection('connecting');
    ui.status.textContent = t('connecting');

    ui.form.addEventListener('submit', function (event) {
      event.preventDefault();
      submit();
      ui.input.focus();
    });
    ui.input.addEventListener('keydown', function (event) {
      // Enter sends; Shift+Enter is a new line; never while an IME (Hangul) is composing.
      if (event.key === 'Enter' && !event.shiftKey && !event.isComposing && event.keyCode !== 229) {
        event.preventDefault();
        submit();
      }
    });
    window.addEventListener('online', function () {
      if (!socket && !finished) {
        attempt = 0;
        connect();
      }
    });
    connect();
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', start);
  } else {
    start();
  }
})();
