// The evacuee page's own words in English, Dari (fa-AF) and Pashto (ps).
// The instruction itself comes from the server in the household's
// language; these are only the page's labels and verdicts.
//
// NEEDS REVIEW BY A NATIVE SPEAKER BEFORE AN OPERATION, as the message
// catalogs (instruct/catalog): the Dari and Pashto reuse the catalogs'
// words where they can (دستورالعمل / لارښوونه, محل تجمع / د راټولېدو ځای,
// تأیید / تایید, اصل / اصلي).

export const LANGS = {
  en: { tag: 'en', dir: 'ltr' },
  fa: { tag: 'fa-AF', dir: 'rtl' },
  ps: { tag: 'ps', dir: 'rtl' },
};

const en = {
  title: 'Your evacuation instruction',
  loading: 'Loading your instruction…',
  badLink: 'This link is not valid (unknown, expired or revoked). Ask the number in your message for a new one.',
  offline: 'No connection: this page needs one to load your instruction. Try again when you have a signal.',
  offlineCopy: 'No connection: this is your instruction as this phone saved it {age} ago ({at}). It may have changed since: open this page again when you have a signal.',
  noInstruction: 'You have no instruction yet. Keep this page: it will show your instruction when it is issued.',
  household: 'Household {id}',
  rally: 'Rally point',
  whenLabel: 'When',
  when: 'Be there between {from} and {to}',
  whenAt: 'Be there at {at}',
  group: 'Group code',
  people: 'People admitted',
  walk: 'Walk: about {min} minutes ({dist})',
  mapCaption: 'A sketch of your walk from the directions (turns and lengths, not every bend of the street). N is north.',
  openMap: 'Open the rally point in your map app',
  start: 'Home',
  instruction: 'Your instruction',
  showAtRally: 'Show this code at the rally point',
  checking: 'Checking that this instruction is genuine…',
  current: 'Genuine and current: signed by the evacuation authority, not withdrawn or replaced.',
  superseded: 'This instruction has been REPLACED by version {n}. Do not follow it: reload this page.',
  supersededOther: 'REPLACED by version {n}: do not follow it; only the newest instruction counts.',
  revoked: 'This instruction has been WITHDRAWN. Do not follow it. Call the number in your message.',
  expired: 'This instruction has EXPIRED. Ask for a current one.',
  unknown_key: 'This could not be checked: it is signed by a key this page does not know.',
  forged: 'FORGED: this is not a genuine instruction. Do not follow it. Report it.',
  cannotCheck: 'The authenticity could not be checked now: {why}',
  checkedAgainst: 'Checked on this phone against the authority’s keys and list of withdrawn instructions as of {asOf} ({age} old).',
  keyFingerprint: 'Key fingerprint: {fp}',
  replaces: 'This instruction replaces {previous}. Follow this one, not the earlier one.',
  changed: 'What changed: {what}',
  changedSinceLast: 'Your instruction has changed since you last opened this page.',
  ack: 'I have read this instruction',
  acking: 'Sending…',
  acked: 'Received by the evacuation authority: you confirmed at {at}.',
  ackFailed: 'Not sent ({why}). Try again.',
  checkOther: 'Check a message you were sent',
  checkOtherHelp: 'Paste the signed code (it starts with MU1:) from a text message or a note someone gave you.',
  checkButton: 'Check',
  checkEmpty: 'Paste a code first.',
  warning: 'Evacuation staff never ask for money. Anyone who sells a place or an instruction is lying.',
};

const fa = {
  title: 'دستورالعمل تخلیهٔ شما',
  loading: 'دستورالعمل شما بارگذاری می‌شود…',
  badLink: 'این لینک معتبر نیست (ناشناخته، منقضی یا لغو شده). از شمارهٔ پیام خود لینک تازه بخواهید.',
  offline: 'اتصال نیست: این صفحه برای بارگذاری دستورالعمل به اتصال نیاز دارد. وقتی آنتن داشتید دوباره کوشش کنید.',
  offlineCopy: 'اتصال نیست: این دستورالعمل شما است، آن‌طور که این تیلفون {age} پیش ({at}) ذخیره کرد. ممکن است از آن زمان تغییر کرده باشد: وقتی آنتن داشتید این صفحه را دوباره باز کنید.',
  noInstruction: 'هنوز دستورالعملی برای شما نیست. این صفحه را نگه دارید: وقتی صادر شود، اینجا نشان داده می‌شود.',
  household: 'خانوار {id}',
  rally: 'محل تجمع',
  whenLabel: 'زمان',
  when: 'بین {from} و {to} آنجا باشید',
  whenAt: 'ساعت {at} آنجا باشید',
  group: 'کد گروه',
  people: 'تعداد افراد مجاز',
  walk: 'پیاده‌روی: حدود {min} دقیقه ({dist})',
  mapCaption: 'طرحی از راه پیاده‌روی شما از روی رهنمایی‌ها (پیچ‌ها و فاصله‌ها، نه هر خم سرک). N شمال است.',
  openMap: 'محل تجمع را در برنامهٔ نقشهٔ خود باز کنید',
  start: 'خانه',
  instruction: 'دستورالعمل شما',
  showAtRally: 'این کد را در محل تجمع نشان دهید',
  checking: 'اصل بودن این دستورالعمل بررسی می‌شود…',
  current: 'اصل و معتبر: امضاشده از سوی ادارهٔ تخلیه، نه لغو شده و نه جایگزین شده.',
  superseded: 'این دستورالعمل با نسخهٔ {n} جایگزین شده است. از آن پیروی نکنید: صفحه را دوباره باز کنید.',
  supersededOther: 'با نسخهٔ {n} جایگزین شده است: از آن پیروی نکنید؛ فقط تازه‌ترین دستورالعمل معتبر است.',
  revoked: 'این دستورالعمل لغو شده است. از آن پیروی نکنید. به شمارهٔ پیام خود زنگ بزنید.',
  expired: 'این دستورالعمل منقضی شده است. دستورالعمل تازه بخواهید.',
  unknown_key: 'این بررسی نشد: با کلیدی امضا شده که این صفحه نمی‌شناسد.',
  forged: 'جعلی: این دستورالعمل اصل نیست. از آن پیروی نکنید. آن را گزارش دهید.',
  cannotCheck: 'اصل بودن اکنون بررسی نشد: {why}',
  checkedAgainst: 'در همین تیلفون با کلیدهای اداره و فهرست دستورالعمل‌های لغوشده تا {asOf} بررسی شد ({age} پیش).',
  keyFingerprint: 'اثر انگشت کلید: {fp}',
  replaces: 'این دستورالعمل جای {previous} را می‌گیرد. از همین پیروی کنید، نه از قبلی.',
  changed: 'چه تغییر کرد: {what}',
  changedSinceLast: 'دستورالعمل شما از آخرین باری که این صفحه را باز کردید تغییر کرده است.',
  ack: 'این دستورالعمل را خواندم',
  acking: 'فرستاده می‌شود…',
  acked: 'ادارهٔ تخلیه دریافت کرد: شما در {at} تأیید کردید.',
  ackFailed: 'فرستاده نشد ({why}). دوباره کوشش کنید.',
  checkOther: 'پیامی را که برایتان فرستاده شده بررسی کنید',
  checkOtherHelp: 'کد امضاشده را (که با MU1: شروع می‌شود) از پیامک یا یادداشتی که کسی به شما داده، اینجا بگذارید.',
  checkButton: 'بررسی',
  checkEmpty: 'نخست یک کد بگذارید.',
  warning: 'کارمندان تخلیه هیچ‌گاه پول نمی‌خواهند. هر کسی که جای یا دستورالعمل می‌فروشد، دروغ می‌گوید.',
};

const ps = {
  title: 'ستاسو د تخلیې لارښوونه',
  loading: 'ستاسو لارښوونه راځي…',
  badLink: 'دا لینک سم نه دی (نامعلوم، پای ته رسېدلی یا لغوه شوی). د خپل پیغام له شمېرې نوی وغواړئ.',
  offline: 'اړیکه نشته: دا پاڼه د لارښوونې د راوړلو لپاره اړیکې ته اړتیا لري. کله چې مو سیګنال درلود بیا هڅه وکړئ.',
  offlineCopy: 'اړیکه نشته: دا ستاسو لارښوونه ده، لکه څنګه چې دې ټیلیفون {age} مخکې ({at}) خوندي کړې. کېدای شي له هغه وروسته بدله شوې وي: کله چې مو سیګنال درلود دا پاڼه بیا پرانیزئ.',
  noInstruction: 'تر اوسه تاسو ته لارښوونه نشته. دا پاڼه وساتئ: کله چې صادره شي، دلته به ښکاره شي.',
  household: 'کورنۍ {id}',
  rally: 'د راټولېدو ځای',
  whenLabel: 'وخت',
  when: 'له {from} تر {to} پورې هلته اوسئ',
  whenAt: 'په {at} هلته اوسئ',
  group: 'د ډلې کوډ',
  people: 'د اجازې وړ کسان',
  walk: 'پلی لاره: شاوخوا {min} دقیقې ({dist})',
  mapCaption: 'د لارښوونو له مخې ستاسو د پلي لارې انځور (ګرځېدنې او اوږدوالی، نه د سړک هر کوږوالی). N شمال دی.',
  openMap: 'د راټولېدو ځای په خپل نقشې پروګرام کې پرانیزئ',
  start: 'کور',
  instruction: 'ستاسو لارښوونه',
  showAtRally: 'دا کوډ د راټولېدو په ځای کې وښایئ',
  checking: 'کتل کېږي چې دا لارښوونه اصلي ده…',
  current: 'اصلي او اوسنۍ: د تخلیې ادارې لاسلیک شوې، نه لغوه شوې او نه بدله شوې.',
  superseded: 'دا لارښوونه په {n} نسخه بدله شوې ده. پیروي یې مه کوئ: پاڼه بیا پرانیزئ.',
  supersededOther: 'په {n} نسخه بدله شوې ده: پیروي یې مه کوئ؛ یوازې تر ټولو نوې لارښوونه معتبره ده.',
  revoked: 'دا لارښوونه لغوه شوې ده. پیروي یې مه کوئ. د خپل پیغام شمېرې ته زنګ ووهئ.',
  expired: 'د دې لارښوونې موده پای ته رسېدلې ده. نوې وغواړئ.',
  unknown_key: 'دا ونه کتل شوه: په داسې کیلي لاسلیک شوې چې دا پاڼه یې نه پېژني.',
  forged: 'جعلي: دا اصلي لارښوونه نه ده. پیروي یې مه کوئ. راپور یې ورکړئ.',
  cannotCheck: 'اصلیت اوس ونه کتل شو: {why}',
  checkedAgainst: 'په همدې ټیلیفون کې د ادارې د کیلیو او د لغوه شویو لارښوونو د لېست سره تر {asOf} پورې وکتل شوه ({age} مخکې).',
  keyFingerprint: 'د کیلي ګوتنښه: {fp}',
  replaces: 'دا لارښوونه د {previous} ځای نیسي. له همدې پیروي وکړئ، نه له پخوانۍ.',
  changed: 'څه بدل شول: {what}',
  changedSinceLast: 'ستاسو لارښوونه له هغه وروسته بدله شوې چې تاسو دا پاڼه وروستی ځل پرانیستله.',
  ack: 'ما دا لارښوونه ولوستله',
  acking: 'لېږل کېږي…',
  acked: 'د تخلیې ادارې ترلاسه کړه: تاسو په {at} تایید کړه.',
  ackFailed: 'ونه لېږل شو ({why}). بیا هڅه وکړئ.',
  checkOther: 'هغه پیغام وګورئ چې تاسو ته لېږل شوی',
  checkOtherHelp: 'لاسلیک شوی کوډ (چې په MU1: پیلېږي) له پیغام یا یادښت څخه دلته کېږدئ.',
  checkButton: 'وګورئ',
  checkEmpty: 'لومړی یو کوډ کېږدئ.',
  warning: 'د تخلیې کارکوونکي هېڅکله پیسې نه غواړي: څوک چې ځای یا لارښوونه پلوري، دروغ وايي.',
};

const TABLES = { en, fa, ps };

/** The household's language code ("en", "fa", "ps"), or English. */
export function langOf(code) { return TABLES[code] ? code : 'en'; }

/** t returns the message key in lang with {placeholders} filled. */
export function t(lang, key, args = {}) {
  const s = (TABLES[lang] && TABLES[lang][key]) || en[key] || key;
  return s.replace(/\{(\w+)\}/g, (m, k) => (k in args ? String(args[k]) : m));
}

export const KEYS = Object.keys(en);
export { TABLES };
