/** The mail subsystem: what the flows (and the CLI) use. */
export {
  checkRecipient,
  enqueueMail,
  MAIL_MAX_ATTEMPTS,
  MAIL_SEND_KIND,
  type MailDeps,
  type MailInput,
  type MailJobPayload,
} from './queue.js';
export { mailSendKind, messageIdOf, showCommand } from './send-job.js';
export {
  cleanupMail,
  getMail,
  linksOf,
  listMail,
  presentMail,
  presentMailFull,
  type ResendOutcome,
  resendMail,
  sendTestMail,
} from './service.js';
export { escapeHtml, MAIL_TEMPLATES, type MailTemplate, render } from './templates.js';
