/* voicedesk: the agent console (/agent).
 *
 * The agent signs in with their API key (kept in sessionStorage only, never in the URL), then
 * one websocket at /agent/ws carries the chat list, the messages of listed chats and the
 * results of take / send / close. A reconnect (with backoff) authenticates again with the last
 * message id seen per chat, and unconfirmed sends go out again with their client_id (the
 * server drops a client_id it already has). Everything the server, the customer or the agent
 * supplies is inserted as text (textContent), never as HTML.
 */
(function () {
  'use strict';

  var TEXT = {
    ko: {
      title: '상담 콘솔',
      logout: '로그아웃',
      loginTitle: '상담원 로그인',
      apiKey: 'API 키',
      login: '로그인',
      badKey: 'API 키가 올바르지 않습니다.',
      waitingChats: '대기 중',
      myChats: '내 상담',
      closedChats: '최근 종료',
      noChats: '없음',
      noSelection: '왼쪽에서 상담을 선택하세요.',
      take: '상담 시작',
      outcome: '결과',
      outcome_resolved: '해결됨',
      outcome_unresolved: '미해결',
      outcome_follow_up: '후속 조치 필요',
      outcome_no_reply: '고객 응답 없음',
      outcome_transferred: '이관됨',
      close: '상담 종료',
      message: '메시지',
      placeholder: '메시지를 입력하세요',
      send: '보내기',
      online: '연결됨',
      connecting: '연결 중…',
      reconnecting: '다시 연결하는 중…',
      statusWaiting: '대기 중 · {waited}',
      statusActive: '상담 중 · {agent}',
      statusClosed: '종료 · {outcome}',
      noteWaiting: '상담을 시작하면 메시지를 보낼 수 있습니다.',
      noteOthers: '다른 상담원이 진행 중인 상담입니다.',
      noteClosed: '종료된 상담입니다.',
      you: '나',
      customer: '고객',
      agent: '상담원',
      system: '안내',
      sending: '보내는 중…',
      notSent: '보내지 못했습니다',
      viaSms: '문자',
      viaWeb: '웹',
      secCustomer: '고객',
      phone: '전화번호',
      language: '언어',
      queue: '대기열',
      customerVia: '고객 연결',
      viaWebLong: '웹 채팅',
      viaSmsLong: '문자(SMS)',
      viaLinkLong: '링크 전송됨 (아직 답장 없음)',
      waitingSince: '대기 시작',
      secCall: '통화',
      callStarted: '통화 시작',
      caller: '발신 번호',
      called: '수신 번호',
      callSid: 'Call SID',
      secPath: 'IVR 경로',
      topics: '선택한 메뉴',
      rawPath: '노드',
      secCollected: '입력한 값',
      masked: '마스킹됨',
      secSpeech: '음성 인식',
      confidence: '신뢰도 {value}',
      secQueue: '대기',
      waited: '대기 시간 {waited}',
      secEarlier: '이전 상담',
      none: '없음',
      noCall: '전화에서 시작되지 않은 상담입니다.',
      langNames: { ko: '한국어', en: '영어' },
      channels: { voice: '전화', call: '전화', callback: '콜백', chat: '채팅', sms: '문자' },
      outcomes: {
        answered: '상담 연결', completed: '완료', abandoned: '중도 종료', failed: '실패',
        transferred: '이관됨', callback_requested: '콜백 요청', escalated: '채팅 전환',
        resolved: '해결됨', unresolved: '미해결', follow_up: '후속 조치 필요',
        no_reply: '고객 응답 없음'
      },
      directions: { inbound: '수신', outbound: '발신' },
      seconds: '{s}초',
      minutes: '{m}분 {s}초',
      hours: '{h}시간 {m}분',
      actionFailed: '{action} 실패: {error}',
      actions: { take: '상담 시작', send: '메시지 전송', close: '상담 종료' }
    },
    en: {
      title: 'Agent console',
      logout: 'Sign out',
      loginTitle: 'Agent sign-in',
      apiKey: 'API key',
      login: 'Sign in',
      badKey: 'That API key was not accepted.',
      waitingChats: 'Waiting',
      myChats: 'My chats',
      closedChats: 'Recently closed',
      noChats: 'None',
      noSelection: 'Pick a chat on the left.',
      take: 'Take',
      outcome: 'Outcome',
      outcome_resolved: 'Resolved',
      outcome_unresolved: 'Unresolved',
      outcome_follow_up: 'Follow-up needed',
      outcome_no_reply: 'No reply',
      outcome_transferred: 'Transferred',
      close: 'Close chat',
      message: 'Message',
      placeholder: 'Type a message',
      send: 'Send',
      online: 'Online',
      connecting: 'Connecting…',
      reconnecting: 'Reconnecting…',
      statusWaiting: 'Waiting · {waited}',
      statusActive: 'Active · {agent}',
      statusClosed: 'Closed · {outcome}',
      noteWaiting: 'Take the chat to reply.',
      noteOthers: 'Another agent has this chat.',
      noteClosed: 'This chat is closed.',
      you: 'You',
      customer: 'Customer',
      agent: 'Agent',
      system: 'Notice',
      sending: 'Sending…',
      notSent: 'Not sent',
      viaSms: 'SMS',
      viaWeb: 'web',
      secCustomer: 'Customer',
      phone: 'Phone',
      language: 'Language',
      queue: 'Queue',
      customerVia: 'Customer on',
      viaWebLong: 'web chat',
      viaSmsLong: 'SMS',
      viaLinkLong: 'link sent (no reply yet)',
      waitingSince: 'Waiting since',
      secCall: 'Call',
      callStarted: 'Started',
      caller: 'Caller',
      called: 'Called',
      callSid: 'Call SID',
      secPath: 'IVR path',
      topics: 'Chosen',
      rawPath: 'Nodes',
      secCollected: 'Collected values',
      masked: 'masked',
      secSpeech: 'Speech recognised',
      confidence: 'confidence {value}',
      secQueue: 'Queue',
      waited: 'waited {waited}',
      secEarlier: 'Earlier interactions',
      none: 'None',
      noCall: 'This chat did not start with a call.',
      langNames: { ko: 'Korean', en: 'English' },
      channels: { voice: 'call', call: 'call', callback: 'callback', chat: 'chat', sms: 'SMS' },
      outcomes: {
        answered: 'answered', completed: 'completed', abandoned: 'abandoned', failed: 'failed',
        transferred: 'transferred', callback_requested: 'callback requested',
        escalated: 'moved to chat', resolved: 'resolved', unresolved: 'unresolved',
        follow_up: 'follow-up needed', no_reply: 'no reply'
      },
      directions: { inbound: 'inbound', outbound: 'outbound' },
      seconds: '{s}s',
      minutes: '{m}m {s}s',
      hours: '{h}h {m}m',
      actionFailed: '{action} failed: {error}',
      actions: { take: 'Take', send: 'Send', close: 'Close' }
    }
  };

  var KEY_STORAGE = 'voicedesk.agent.apiKey';
  var BACKOFF_MS = [500, 1000, 2000, 4000, 5000];
  var AUTH_REFUSED = 4401;

  var lang = /^ko\b/i.test(navigator.language || 'ko') ? 'ko' : 'en';
  var socket = null;
  var attempt = 0;
  var reconnectTimer = null;
  var ready = false;
  var me = null;
  var lastError = '';
  var chats = []; // as the server listed them
  var chatById = new Map();
  var threads = new Map(); // chat id -> {messages: Map(id -> message), lastId}
  var pending = new Map(); // client_id -> {chat, body, failed}, in the order typed
  var unread = new Set();
  var busy = new Set(); // 'take:1', 'close:1': an action awaiting its result
  var selected = null;
  var shownContext = ''; // the context panel's chat, as JSON: rebuilt only when it changes
  var skew = 0; // how far the server's clock is ahead of this browser's (ms, never negative)

  var ui = {};
  var common = window.voicedeskChat;
  var $ = common.byTestId;
  var el = common.el;
  var newClientId = common.newClientId;
  var t = common.translator(TEXT, function () {
    return lang;
  });


  function named(table, value) {
    var names = t(table) || {};
    return Object.prototype.hasOwnProperty.call(names, value) ? names[value] : String(value);
  }



  /* ---- times -------------------------------------------------------------------------- */

  function serverNow() {
    return Date.now() + skew;
  }

  function noteServerTime(iso) {
    var at = Date.parse(iso);
    if (!isNaN(at) && at - Date.now() > skew) skew = at - Date.now();
  }

  function duration(ms) {
    var total = Math.max(0, Math.floor(ms / 1000));
    var h = Math.floor(total / 3600);
    var m = Math.floor((total % 3600) / 60);
    var s = total % 60;
    if (h > 0) return t('hours', { h: h, m: m });
    if (m > 0) return t('minutes', { m: m, s: s });
    return t('seconds', { s: s });
  }

  function since(iso) {
    var at = Date.parse(iso);
    return isNaN(at) ? '' : duration(serverNow() - at);
  }

  function dateTime(iso) {
    var date = new Date(iso);
    if (!iso || isNaN(date.getTime())) return '';
    try {
      return new Intl.DateTimeFormat(lang === 'ko' ? 'ko-KR' : 'en', {
        year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit'
      }).format(date);
    } catch (e) {
      return date.toLocaleString();
    }
  }

  function clock(iso) {
    var date = new Date(iso);
    if (!iso || isNaN(date.getTime())) return '';
    try {
      return new Intl.DateTimeFormat(lang === 'ko' ? 'ko-KR' : 'en', {
        hour: '2-digit', minute: '2-digit'
      }).format(date);
    } catch (e) {
      return date.toLocaleTimeString();
    }
  }

  /* ---- sign-in ------------------------------------------------------------------------ */

  function storedKey() {
    try {
      return sessionStorage.getItem(KEY_STORAGE) || '';
    } catch (e) {
      return '';
    }
  }

  function storeKey(key) {
    try {
      if (key) sessionStorage.setItem(KEY_STORAGE, key);
      else sessionStorage.removeItem(KEY_STORAGE);
    } catch (e) {
      /* storage disabled: the key lives only as long as this socket */
    }
  }

  var currentKey = '';

  function showLogin(error) {
    ready = false;
    ui.loginPanel.hidden = false;
    ui.console.hidden = true;
    ui.logout.hidden = true;
    ui.connection.hidden = true;
    ui.agentName.textContent = '';
    ui.loginError.hidden = !error;
    ui.loginError.textContent = error || '';
    ui.apiKey.value = '';
    ui.apiKey.focus();
  }

  function signIn(key) {
    currentKey = key;
    storeKey(key);
    ui.loginError.hidden = true;
    ui.loginPanel.hidden = true;
    ui.logout.hidden = false;
    ui.connection.hidden = false;
    setConnection('connecting');
    attempt = 0;
    connect();
  }

  function signOut() {
    storeKey('');
    currentKey = '';
    clearTimeout(reconnectTimer);
    reconnectTimer = null;
    var ws = socket;
    socket = null;
    if (ws) ws.close(1000);
    chats = [];
    chatById.clear();
    threads.clear();
    pending.clear();
    unread.clear();
    busy.clear();
    selected = null;
    shownContext = '';
    showLogin('');
  }

  /* ---- connection --------------------------------------------------------------------- */

  function setConnection(state) {
    ui.connection.setAttribute('data-state', state);
    ui.connection.textContent = t(state === 'online' ? 'online'
      : state === 'connecting' ? 'connecting' : 'reconnecting');
  }

  function socketUrl() {
    return (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/agent/ws';
  }

  function afterIds() {
    var after = {};
    threads.forEach(function (thread, chatId) {
      if (thread.lastId > 0) after[String(chatId)] = thread.lastId;
    });
    return after;
  }

  function connect() {
    clearTimeout(reconnectTimer);
    reconnectTimer = null;
    if (!currentKey) return;
    var ws;
    try {
      ws = new WebSocket(socketUrl());
    } catch (e) {
      scheduleReconnect();
      return;
    }
    socket = ws;
    lastError = '';
    ws.addEventListener('open', function () {
      if (socket !== ws) return;
      ws.send(JSON.stringify({ type: 'auth', key: currentKey, after: afterIds() }));
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
      var wasReady = ready;
      ready = false;
      busy.clear();
      // Refused: the key is wrong (4401), or the server said why before it ever got ready.
      if (event.code === AUTH_REFUSED || (!wasReady && lastError)) {
        storeKey('');
        currentKey = '';
        showLogin(t('badKey') + (lastError ? ' (' + lastError + ')' : ''));
        return;
      }
      if (!currentKey) return;
      setConnection('reconnecting');
      if (wasReady) renderDetail();
      scheduleReconnect();
    });
  }

  function scheduleReconnect() {
    if (reconnectTimer !== null || !currentKey) return;
    var delay = BACKOFF_MS[Math.min(attempt, BACKOFF_MS.length - 1)];
    attempt += 1;
    reconnectTimer = setTimeout(function () {
      reconnectTimer = null;
      connect();
    }, delay);
  }

  function sendNow(payload) {
    if (!ready || !socket || socket.readyState !== WebSocket.OPEN) return false;
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
    switch (data.type) {
      case 'ready':
        ready = true;
        attempt = 0;
        me = data.agent || null;
        ui.agentName.textContent = me && me.name ? String(me.name) : '';
        ui.console.hidden = false;
        ui.loginPanel.hidden = true;
        ui.logout.hidden = false;
        ui.connection.hidden = false;
        setConnection('online');
        pending.forEach(function (entry, clientId) {
          if (!entry.failed) {
            sendNow({ type: 'send', chat: entry.chat, body: entry.body, client_id: clientId });
          }
        });
        renderDetail();
        break;
      case 'chats':
        if (data.now) skew = Math.max(0, Date.parse(data.now) - Date.now()) || 0;
        showChats(Array.isArray(data.chats) ? data.chats : []);
        break;
      case 'message':
        if (data.message) addMessage(data.message);
        break;
      case 'result':
        showResult(data);
        break;
      case 'error':
        lastError = String(data.error || '');
        if (ready) showError(lastError);
        break;
      default:
        break;
    }
  }

  function showError(text) {
    ui.error.textContent = text;
    ui.error.hidden = false;
    clearTimeout(showError.timer);
    showError.timer = setTimeout(function () {
      ui.error.hidden = true;
    }, 10000);
  }

  function showResult(result) {
    var chatId = Number(result.chat);
    busy.delete(result.action + ':' + chatId);
    if (!result.ok) {
      var action = named('actions', result.action);
      showError(t('actionFailed', { action: action, error: result.error || '' }));
      if (result.action === 'send') {
        // Results come in the order of the actions: the oldest unconfirmed send failed.
        var failed = null;
        pending.forEach(function (entry) {
          if (failed === null && entry.chat === chatId && !entry.failed) failed = entry;
        });
        if (failed) failed.failed = true;
      }
    }
    if (chatId === selected) renderDetail();
  }

  function bucket(chat) {
    if (chat.status === 'waiting') return 'waiting';
    if (chat.status === 'closed') return 'closed';
    return 'mine';
  }

  function isMine(chat) {
    return !!chat && !!me && chat.agent_id === me.id && chat.status === 'active';
  }

  function showChats(list) {
    chats = list;
    chatById = new Map();
    list.forEach(function (chat) {
      chatById.set(Number(chat.id), chat);
      if (!threads.has(Number(chat.id))) threads.set(Number(chat.id), { messages: new Map(), lastId: 0 });
      [chat.created_at, chat.waiting_since, chat.taken_at, chat.closed_at].forEach(function (at) {
        if (at) noteServerTime(at);
      });
    });
    // Unconfirmed sends of a chat that closed will not go out any more.
    pending.forEach(function (entry) {
      var chat = chatById.get(entry.chat);
      if (chat && chat.status === 'closed') entry.failed = true;
    });
    if (selected !== null && !chatById.has(selected)) {
      selected = null;
    }
    renderList();
    renderDetail();
  }

  function addMessage(message) {
    var chatId = Number(message.chat_id);
    var id = Number(message.id);
    if (!Number.isFinite(chatId) || !Number.isFinite(id)) return;
    var thread = threads.get(chatId);
    if (!thread) {
      thread = { messages: new Map(), lastId: 0 };
      threads.set(chatId, thread);
    }
    if (thread.messages.has(id)) return; // a replay after a reconnect
    thread.messages.set(id, message);
    if (id > thread.lastId) thread.lastId = id;
    if (message.at && ready) noteServerTime(message.at);
    if (message.client_id && pending.has(message.client_id)) pending.delete(message.client_id);
    if (chatId === selected) {
      renderThread();
    } else if (message.sender === 'customer') {
      unread.add(chatId);
      renderList();
    }
  }

  /* ---- the chat list ------------------------------------------------------------------ */

  function renderList() {
    var lists = { waiting: ui.listWaiting, mine: ui.listMine, closed: ui.listClosed };
    var counts = { waiting: 0, mine: 0, closed: 0 };
    Object.keys(lists).forEach(function (name) {
      lists[name].replaceChildren();
    });
    chats.forEach(function (chat) {
      var group = bucket(chat);
      counts[group] += 1;
      var item = el('li');
      item.appendChild(chatItem(chat));
      lists[group].appendChild(item);
    });
    Object.keys(lists).forEach(function (name) {
      if (counts[name] === 0) lists[name].appendChild(el('li', 'empty', t('noChats')));
    });
    ui.countWaiting.textContent = counts.waiting ? String(counts.waiting) : '';
    ui.countMine.textContent = counts.mine ? String(counts.mine) : '';
    ui.countClosed.textContent = counts.closed ? String(counts.closed) : '';
    document.title = (counts.waiting ? '(' + counts.waiting + ') ' : '') + t('title');
  }

  function chatItem(chat) {
    var id = Number(chat.id);
    var button = el('button', 'chat-item' + (unread.has(id) ? ' has-unread' : ''));
    button.type = 'button';
    button.setAttribute('data-testid', 'chat-item');
    button.setAttribute('data-chat-id', String(id));
    button.setAttribute('data-status', String(chat.status));
    button.setAttribute('aria-current', id === selected ? 'true' : 'false');
    var top = el('span', 'chat-item__top');
    top.appendChild(el('span', 'chat-item__phone', chat.phone || '—'));
    var right = el('span', 'chat-item__waited');
    right.setAttribute('data-testid', 'waited');
    if (chat.status === 'waiting') {
      right.setAttribute('data-since', String(chat.waiting_since || ''));
      right.textContent = since(chat.waiting_since);
    } else if (chat.status === 'closed') {
      right.textContent = chat.outcome ? t('outcome_' + chat.outcome) || chat.outcome : '';
    } else {
      right.textContent = chat.agent_name || '';
    }
    top.appendChild(right);
    button.appendChild(top);
    var context = chat.context || {};
    var topics = Array.isArray(context.topics) ? context.topics : [];
    var sub = [chat.queue, topics.join(' · '), chat.customer_via === 'sms' ? t('viaSms') : '']
      .filter(function (part) { return !!part; }).join(' · ');
    button.appendChild(el('span', 'chat-item__sub', sub));
    button.addEventListener('click', function () {
      select(id);
    });
    return button;
  }

  function select(chatId) {
    var changed = chatId !== selected;
    selected = chatId;
    unread.delete(chatId);
    shownContext = '';
    if (changed) {
      ui.context.scrollTop = 0;
      ui.thread.replaceChildren();
    }
    renderList();
    renderDetail();
    if (!ui.composer.hidden) ui.input.focus();
  }

  /* ---- the selected chat -------------------------------------------------------------- */

  function renderDetail() {
    var chat = selected === null ? null : chatById.get(selected);
    ui.noSelection.hidden = !!chat;
    ui.detailBody.hidden = !chat;
    if (!chat) {
      shownContext = '';
      return;
    }
    ui.detailBody.setAttribute('data-chat-id', String(chat.id));
    ui.detailBody.setAttribute('data-status', String(chat.status));
    ui.title.textContent = chat.phone || '—';
    ui.status.textContent = statusText(chat);
    ui.status.setAttribute('data-since', chat.status === 'waiting' ? String(chat.waiting_since || '') : '');

    var mine = isMine(chat);
    ui.take.hidden = chat.status !== 'waiting';
    ui.take.disabled = !ready || busy.has('take:' + chat.id);
    ui.closeForm.hidden = !mine;
    ui.closeButton.disabled = !ready || busy.has('close:' + chat.id);
    ui.composer.hidden = !mine;
    ui.send.disabled = false;
    ui.note.hidden = mine;
    ui.note.textContent = chat.status === 'waiting' ? t('noteWaiting')
      : chat.status === 'closed' ? t('noteClosed') : mine ? '' : t('noteOthers');

    // Rebuilt only when what it shows changes (not on every new message of the chat).
    var json = JSON.stringify([chat.id, chat.phone, chat.language, chat.queue,
      chat.customer_via, chat.waiting_since, chat.context]);
    if (json !== shownContext) {
      shownContext = json;
      var top = ui.context.scrollTop;
      renderContext(chat);
      ui.context.scrollTop = top;
    }
    renderThread();
  }

  function statusText(chat) {
    if (chat.status === 'waiting') return t('statusWaiting', { waited: since(chat.waiting_since) });
    if (chat.status === 'closed') {
      return t('statusClosed', { outcome: chat.outcome ? t('outcome_' + chat.outcome) || chat.outcome : '' });
    }
    var agent = isMine(chat) ? t('you') : chat.agent_name || t('agent');
    return t('statusActive', { agent: agent });
  }

  function section(title, testid) {
    var wrap = el('section');
    if (testid) wrap.setAttribute('data-testid', testid);
    wrap.appendChild(el('h3', null, title));
    return wrap;
  }

  function definitions(rows) {
    var dl = el('dl');
    rows.forEach(function (row) {
      if (row[1] === null || row[1] === undefined || row[1] === '') return;
      dl.appendChild(el('dt', null, row[0]));
      var dd = el('dd', null, row[1]);
      if (row[2]) dd.setAttribute('data-testid', row[2]);
      dl.appendChild(dd);
    });
    return dl;
  }

  function noneNode() {
    return el('p', 'none', t('none'));
  }

  function renderContext(chat) {
    var context = chat.context || {};
    var call = context.call || null;
    var panel = ui.context;
    panel.replaceChildren();

    var customer = section(t('secCustomer'), 'context-customer');
    customer.appendChild(definitions([
      [t('phone'), chat.phone, 'context-phone'],
      [t('language'), named('langNames', chat.language), 'context-language'],
      [t('queue'), chat.queue, 'context-queue-name'],
      [t('customerVia'), chat.customer_via === 'sms' ? t('viaSmsLong')
        : chat.customer_via === 'web' ? t('viaWebLong')
          : chat.customer_via === 'link' ? t('viaLinkLong') : chat.customer_via, 'context-via'],
      [t('waitingSince'), dateTime(chat.waiting_since), null]
    ]));
    panel.appendChild(customer);

    var callSection = section(t('secCall'), 'context-call');
    if (call) {
      callSection.appendChild(definitions([
        [t('callStarted'), dateTime(call.started_at), null],
        [t('caller'), call.caller, 'context-caller'],
        [t('called'), call.called, null],
        [t('language'), call.language ? named('langNames', call.language) : '', null],
        [t('callSid'), call.call_sid, null]
      ]));
    } else {
      callSection.appendChild(el('p', 'none', t('noCall')));
    }
    panel.appendChild(callSection);

    var pathSection = section(t('secPath'), 'context-path-section');
    var topics = Array.isArray(context.topics) ? context.topics : [];
    var path = Array.isArray(context.path) ? context.path : [];
    if (topics.length || path.length) {
      var rows = [];
      if (topics.length) rows.push([t('topics'), topics.join(' › '), 'context-topics']);
      pathSection.appendChild(definitions(rows));
      if (path.length) {
        var raw = el('p', 'path', path.join(' → '));
        raw.setAttribute('data-testid', 'context-path');
        raw.setAttribute('title', t('rawPath'));
        pathSection.appendChild(raw);
      }
    } else {
      pathSection.appendChild(noneNode());
    }
    panel.appendChild(pathSection);

    var collectedSection = section(t('secCollected'), 'context-collected');
    var collected = Array.isArray(context.collected) ? context.collected : [];
    if (collected.length) {
      var list = el('ul');
      collected.forEach(function (entry) {
        var item = el('li');
        item.setAttribute('data-sensitive', entry.sensitive ? 'true' : 'false');
        item.appendChild(el('span', null, String(entry.variable || '') + ': '));
        item.appendChild(el('span', 'value', entry.value === null || entry.value === undefined ? '' : entry.value));
        if (entry.sensitive) {
          item.appendChild(document.createTextNode(' '));
          item.appendChild(el('span', 'badge', t('masked')));
        }
        if (entry.node) {
          item.appendChild(document.createTextNode(' '));
          item.appendChild(el('span', 'path', '(' + entry.node + ')'));
        }
        list.appendChild(item);
      });
      collectedSection.appendChild(list);
    } else {
      collectedSection.appendChild(noneNode());
    }
    panel.appendChild(collectedSection);

    var speechSection = section(t('secSpeech'), 'context-speech');
    var speech = Array.isArray(context.speech) ? context.speech : [];
    if (speech.length) {
      var heard = el('ul');
      speech.forEach(function (entry) {
        var item = el('li');
        item.appendChild(el('span', null, '“' + String(entry.transcript || '') + '”'));
        if (typeof entry.confidence === 'number') {
          item.appendChild(document.createTextNode(' '));
          item.appendChild(el('span', 'badge',
            t('confidence', { value: Math.round(entry.confidence * 100) + '%' })));
        }
        if (entry.masked) {
          item.appendChild(document.createTextNode(' '));
          item.appendChild(el('span', 'badge', t('masked')));
        }
        if (entry.node) {
          item.appendChild(document.createTextNode(' '));
          item.appendChild(el('span', 'path', '(' + entry.node + ')'));
        }
        heard.appendChild(item);
      });
      speechSection.appendChild(heard);
    } else {
      speechSection.appendChild(noneNode());
    }
    panel.appendChild(speechSection);

    var queueSection = section(t('secQueue'), 'context-queue');
    var queue = context.queue || null;
    if (queue) {
      var waited = typeof queue.waited_seconds === 'number'
        ? t('waited', { waited: duration(queue.waited_seconds * 1000) }) : '';
      queueSection.appendChild(el('p', null, [queue.queue, waited].filter(Boolean).join(' · ')));
    } else {
      queueSection.appendChild(noneNode());
    }
    panel.appendChild(queueSection);

    var earlierSection = section(t('secEarlier'), 'context-earlier');
    var earlier = Array.isArray(context.earlier) ? context.earlier : [];
    if (earlier.length) {
      var past = el('ul');
      earlier.forEach(function (entry) {
        var item = el('li');
        item.setAttribute('data-interaction-id', String(entry.interaction_id));
        item.textContent = [
          dateTime(entry.started_at),
          named('channels', entry.channel),
          entry.direction ? named('directions', entry.direction) : '',
          entry.outcome ? named('outcomes', entry.outcome) : ''
        ].filter(Boolean).join(' · ');
        past.appendChild(item);
      });
      earlierSection.appendChild(past);
    } else {
      earlierSection.appendChild(noneNode());
    }
    panel.appendChild(earlierSection);
  }

  function messageNode(chat, message, state) {
    var sender = ['customer', 'agent', 'system'].indexOf(message.sender) >= 0
      ? message.sender : 'system';
    var ours = sender === 'agent';
    var node = el('li', 'msg' + (ours ? ' is-mine' : sender === 'system' ? ' is-system' : ''));
    node.setAttribute('data-sender', sender);
    var meta = el('div', 'msg__meta');
    var who;
    if (sender === 'customer') who = chat && chat.phone ? chat.phone : t('customer');
    else if (sender === 'agent') {
      who = me && message.agent_id === me.id ? t('you')
        : message.agent_id === undefined ? t('you') : (chat && chat.agent_name) || t('agent');
    } else who = t('system');
    meta.appendChild(el('span', 'msg__who', who));
    if (message.at) {
      var time = el('time', null, clock(message.at));
      time.setAttribute('datetime', String(message.at));
      meta.appendChild(time);
    }
    if (message.via === 'sms') meta.appendChild(el('span', 'badge', t('viaSms')));
    if (state) meta.appendChild(el('span', 'msg__state', state));
    node.appendChild(meta);
    var body = el('div', 'msg__body', message.body);
    body.setAttribute('data-testid', 'message-body');
    node.appendChild(body);
    return node;
  }

  function renderThread() {
    var chat = chatById.get(selected);
    var thread = threads.get(selected);
    var list = ui.thread;
    var stick = list.scrollHeight - list.scrollTop - list.clientHeight < 80;
    var top = list.scrollTop;
    list.replaceChildren();
    if (!chat) return;
    var ids = thread ? Array.from(thread.messages.keys()).sort(function (a, b) { return a - b; }) : [];
    ids.forEach(function (id) {
      var message = thread.messages.get(id);
      var node = messageNode(chat, message, null);
      node.setAttribute('data-testid', 'message');
      node.setAttribute('data-message-id', String(id));
      node.setAttribute('data-via', String(message.via || ''));
      list.appendChild(node);
    });
    pending.forEach(function (entry, clientId) {
      if (entry.chat !== selected) return;
      var node = messageNode(chat, { sender: 'agent', body: entry.body },
        entry.failed ? t('notSent') : t('sending'));
      node.classList.add(entry.failed ? 'is-failed' : 'is-pending');
      node.setAttribute('data-testid', entry.failed ? 'failed-message' : 'pending-message');
      node.setAttribute('data-client-id', clientId);
      list.appendChild(node);
    });
    list.scrollTop = stick ? list.scrollHeight : top;
  }

  /* ---- actions ------------------------------------------------------------------------ */

  function take() {
    if (selected === null) return;
    if (sendNow({ type: 'take', chat: selected })) {
      busy.add('take:' + selected);
      renderDetail();
    }
  }

  function closeChat() {
    if (selected === null) return;
    var outcome = ui.outcome.value;
    if (sendNow({ type: 'close', chat: selected, outcome: outcome })) {
      busy.add('close:' + selected);
      renderDetail();
    }
  }

  function submitMessage() {
    var chat = chatById.get(selected);
    if (!isMine(chat)) return;
    var body = ui.input.value;
    if (!body.trim()) return;
    var clientId = newClientId();
    pending.set(clientId, { chat: selected, body: body, failed: false });
    ui.input.value = '';
    renderThread();
    ui.thread.scrollTop = ui.thread.scrollHeight;
    // Not connected: it goes out (same client_id) once the console is ready again.
    sendNow({ type: 'send', chat: selected, body: body, client_id: clientId });
  }

  function tick() {
    Array.prototype.forEach.call(document.querySelectorAll('[data-testid="waited"][data-since]'),
      function (node) {
        node.textContent = since(node.getAttribute('data-since'));
      });
    var chat = selected === null ? null : chatById.get(selected);
    if (chat && chat.status === 'waiting') ui.status.textContent = statusText(chat);
  }

  /* ---- start -------------------------------------------------------------------------- */

  function applyLanguage() {
    document.documentElement.setAttribute('lang', lang);
    document.title = t('title');
    Array.prototype.forEach.call(document.querySelectorAll('[data-i18n]'), function (node) {
      node.textContent = t(node.getAttribute('data-i18n'));
    });
    Array.prototype.forEach.call(document.querySelectorAll('[data-i18n-placeholder]'),
      function (node) {
        node.setAttribute('placeholder', t(node.getAttribute('data-i18n-placeholder')));
      });
  }

  function start() {
    ui.loginPanel = $('login-panel');
    ui.loginForm = $('login-form');
    ui.apiKey = $('api-key');
    ui.loginError = $('login-error');
    ui.console = $('console');
    ui.connection = $('connection');
    ui.logout = $('logout');
    ui.agentName = $('agent-name');
    ui.error = $('console-error');
    ui.listWaiting = $('list-waiting');
    ui.listMine = $('list-mine');
    ui.listClosed = $('list-closed');
    ui.countWaiting = $('count-waiting');
    ui.countMine = $('count-mine');
    ui.countClosed = $('count-closed');
    ui.noSelection = $('no-selection');
    ui.detailBody = $('detail-body');
    ui.title = $('detail-title');
    ui.status = $('detail-status');
    ui.take = $('take');
    ui.closeForm = $('close-form');
    ui.outcome = $('outcome');
    ui.closeButton = $('close');
    ui.context = $('context');
    ui.thread = $('thread');
    ui.composer = $('composer');
    ui.input = $('composer-input');
    ui.send = $('send');
    ui.note = $('composer-note');

    applyLanguage();

    ui.loginForm.addEventListener('submit', function (event) {
      event.preventDefault();
      var key = ui.apiKey.value.trim();
      ui.apiKey.value = '';
      if (key) signIn(key);
    });
    ui.logout.addEventListener('click', signOut);
    ui.take.addEventListener('click', take);
    ui.closeForm.addEventListener('submit', function (event) {
      event.preventDefault();
      closeChat();
    });
    ui.composer.addEventListener('submit', function (event) {
      event.preventDefault();
      submitMessage();
      ui.input.focus();
    });
    ui.input.addEventListener('keydown', function (event) {
      // Enter sends; Shift+Enter is a new line; never while an IME (Hangul) is composing.
      if (event.key === 'Enter' && !event.shiftKey && !event.isComposing && event.keyCode !== 229) {
        event.preventDefault();
        submitMessage();
      }
    });
    window.addEventListener('online', function () {
      if (!socket && currentKey) {
        attempt = 0;
        connect();
      }
    });
    setInterval(tick, 1000);

    var key = storedKey();
    if (key) signIn(key);
    else showLogin('');
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', start);
  } else {
    start();
  }
})();
