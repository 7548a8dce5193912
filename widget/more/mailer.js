'use strict';
// "Email me the transcript" under a chat that has just ended: a
// `transcript_request` for that chat. The server mails it to the address it already has
// for the visitor — this names none — and answers `transcript_queued` or an error.
// Offered only when the server sends email (`welcome.widget.transcript_email`).

// [offer, sent, no address, failed] per language (the core's strings stay small).
const MAIL_WORDS = {
  en: ['Email me the transcript', 'The transcript is on its way to your email.', 'We have no email address for you.', 'Something went wrong. Please try again.'],
  hr: ['Pošaljite mi prijepis e-poštom', 'Prijepis je poslan na vašu e-poštu.', 'Nemamo vašu adresu e-pošte.', 'Nešto nije u redu. Pokušajte ponovno.'],
  sl: ['Pošljite mi prepis po e-pošti', 'Prepis je na poti na vaš e-naslov.', 'Vašega e-naslova nimamo.', 'Nekaj je šlo narobe. Poskusite znova.'],
  sr: ['Pošaljite mi transkript e-poštom', 'Transkript je poslat na vašu e-poštu.', 'Nemamo vašu adresu e-pošte.', 'Nešto nije u redu. Pokušajte ponovo.'],
  de: ['Verlauf per E-Mail senden', 'Der Verlauf ist unterwegs in Ihr Postfach.', 'Wir haben keine E-Mail-Adresse von Ihnen.', 'Etwas ist schiefgelaufen. Bitte versuchen Sie es erneut.'],
  it: ['Inviami la trascrizione via email', 'La trascrizione è in arrivo nella tua email.', 'Non abbiamo un tuo indirizzo email.', 'Qualcosa è andato storto. Riprova.'],
  fr: ['M’envoyer la transcription par e-mail', 'La transcription arrive dans votre boîte mail.', 'Nous n’avons pas votre adresse e-mail.', 'Une erreur est survenue. Veuillez réessayer.'],
  es: ['Enviarme la transcripción por correo', 'La transcripción va de camino a tu correo.', 'No tenemos tu dirección de correo.', 'Algo salió mal. Inténtalo de nuevo.'],
};

B.mailer = (list, send, cfg) => {
  const words = () => MAIL_WORDS[B.lang] || MAIL_WORDS.en;
  let button = null;
  return {
    /** The chat `conv` ended on screen: offer its transcript by email. */
    offer(conv) {
      if (!cfg().transcript_email) return;
      if (button) button.parentNode.remove();
      button = B.el('button', { class: 'btn btn2', type: 'button', text: words()[0] });
      button.onclick = () => {
        button.disabled = true;
        if (!send({ type: 'transcript_request', conversation_id: conv, ref: 'tx' })) button.disabled = false;
      };
      list.note('').append(button);
    },
    /** `transcript_queued`, or the `error` answering ref "tx". */
    frame(f) {
      if (!button || (f.type !== 'transcript_queued' && f.ref !== 'tx')) return;
      const ok = f.type === 'transcript_queued';
      button.disabled = ok;
      list.note(words()[ok ? 1 : f.code === 'conflict' ? 2 : 3]);
    },
  };
};
